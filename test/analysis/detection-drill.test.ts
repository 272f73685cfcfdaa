import { describe, expect, it } from 'vitest';
import { runDetectionDrill } from './detection-drill.js';

describe('rollback detection drill (real router, two real sites, 1 s interval)', () => {
  it('detects 20 % 5xx on the target, decides rollback with the values that caused it, and reads go back to the source', async () => {
    const r = await runDetectionDrill();
    expect(r.healthyDecisions).not.toContain('rollback');
    expect(r.decision.decision).toBe('rollback');
    expect(r.decision.reasons[0]).toMatch(
      /^check errors failed: 2 failed measurements exceed failureLimit 1; last Fail: target error_rate [\d.]+ is [\d.]+× the source's/,
    );
    const failing = r.decision.checks.find((c) => c.check === 'errors');
    expect(failing?.value).toBeGreaterThan(0.02);
    expect(failing?.samples).toBeGreaterThanOrEqual(20);
    const record = r.events.filter((e) => e.type === 'gate-decided').at(-1);
    expect(record?.data).toMatchObject({ gate: 'shift-25', outcome: 'rollback' });
    // A generous bound only (the issue's target is < 5 s; `npm run bench -- gates` reports the figure).
    expect(r.weightsBackMs).toBeLessThan(15_000);
    expect(r.targetReadsAfterRollback).toBe(0);
  });
});
