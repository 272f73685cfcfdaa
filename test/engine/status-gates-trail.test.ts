/**
 * How status reads gates from a real audit trail (written by the trail's own writer): other runs'
 * records are ignored, checks are brought up to date by later measurements with the counts the
 * check's state machine recorded (never recounted), a new step starts afresh, the current gate is the
 * last in the run's current stage, and a damaged or unreadable record is skipped, never fatal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../../src/audit/trail.js';
import { createRedactor } from '../../src/common/redact.js';
import { readRunGates } from '../../src/engine/gate-status.js';
import { makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('handoff-gate-trail-');
afterAll(() => tmp.cleanup());

const threshold = { max: 0.05, fail: 2, minSamples: 100 };

/** A `check-measured` record as analysis/gate.ts writes it: the check's result, counts from its state machine. */
function measured(
  gate: string,
  outcome: string,
  value: number,
  samples: number,
  counts: { passes: number; failures: number } | null,
): Record<string, unknown> {
  return {
    ...(counts ? { consecutivePasses: counts.passes, failures: counts.failures, critical: true } : {}),
    gate,
    check: 'errors',
    metric: 'router.error_rate',
    outcome,
    value,
    sourceValue: 0.01,
    ratio: value / 0.01,
    samples,
    sourceSamples: 900,
    threshold,
    reason: `target error_rate ${value}`,
    verdict: 'waiting',
    countedAs: outcome === 'Pass' ? 'pass' : outcome === 'Fail' ? 'fail' : 'hold',
    dryRun: false,
  };
}

function decided(gate: string, outcome: string, passes: number): Record<string, unknown> {
  return {
    gate,
    outcome,
    reason: `decided ${outcome}`,
    reasons: [`decided ${outcome}`],
    checks: [
      {
        check: 'errors',
        metric: 'router.error_rate',
        verdict: 'waiting',
        outcome: 'Pass',
        value: 0.01,
        sourceValue: 0.01,
        ratio: 1,
        samples: 500,
        sourceSamples: 900,
        threshold,
        failures: 0,
        consecutivePasses: passes,
        dryRun: false,
        critical: true,
        reason: 'first',
      },
    ],
  };
}

function writeTrail(
  dir: string,
  records: Array<[run: string, action: string, details: Record<string, unknown>]>,
): void {
  const trail = openAuditTrail({ stateDir: dir, redactor: createRedactor() });
  try {
    for (const [runId, action, details] of records)
      trail.append({ actor: 'engine', action, subject: String(details.gate ?? details.stage ?? ''), details, runId });
  } finally {
    trail.close();
  }
}

describe('status: gates from the audit trail', () => {
  it('ignores other runs, updates the current gate from later measurements with the passes and fails their state machine counted, and starts afresh with a new step', () => {
    const dir = path.join(tmp.dir, 'one');
    writeTrail(dir, [
      ['A', 'stage-started', { stage: 'verify' }],
      [
        'A',
        'gate-decided',
        {
          gate: 'verify',
          outcome: 'Pass',
          reason: 'rows equal',
          checks: [{ name: 'public.t', outcome: 'Pass', value: 0, threshold: 0, reason: 'equal' }],
        },
      ],
      ['A', 'stage-started', { stage: 'shift' }],
      ['A', 'step-intent', { stage: 'shift', step: 'reads-25', key: 'A/shift/reads-25', epoch: 1 }],
      ['A', 'check-measured', measured('shift-25', 'Pass', 0.01, 500, { passes: 1, failures: 0 })],
      ['A', 'gate-decided', decided('shift-25', 'hold', 1)],
      ['B', 'gate-decided', decided('shift-25', 'rollback', 0)],
      ['B', 'check-measured', measured('shift-25', 'Fail', 0.9, 5000, { passes: 0, failures: 1 })],
      ['A', 'check-measured', measured('shift-25', 'Pass', 0.012, 600, { passes: 2, failures: 0 })],
      ['A', 'check-measured', measured('shift-25', 'Pass', 0.011, 700, { passes: 3, failures: 0 })],
    ]);
    const passing = readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' });
    expect(passing.source).toBe('audit-trail');
    expect(passing.total).toBe(2);
    expect(passing.decisions.map((d) => [d.gate, d.stage, d.decision])).toEqual([
      ['verify', 'verify', 'Pass'],
      ['shift-25', 'shift', 'hold'],
    ]);
    expect(passing.current).toMatchObject({ gate: 'shift-25', decision: 'hold', reasons: ['decided hold'] });
    expect(passing.current?.checks).toEqual([
      expect.objectContaining({
        check: 'errors',
        outcome: 'Pass',
        value: 0.011,
        samples: 700,
        consecutivePasses: 3,
        failures: 0,
        critical: true,
        threshold,
      }),
    ]);
    expect(passing.decisions[0]?.checks).toEqual([
      expect.objectContaining({ check: 'public.t', threshold: { max: 0 } }),
    ]);
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'verify' }).current).toMatchObject({
      gate: 'verify',
      decision: 'Pass',
    });
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'cutover' }).current).toBeNull();
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'shift', limit: 1 }).decisions.map((d) => d.gate)).toEqual([
      'shift-25',
    ]);

    writeTrail(dir, [['A', 'check-measured', measured('shift-25', 'Fail', 0.04, 800, { passes: 0, failures: 1 })]]);
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' }).current?.checks[0]).toMatchObject({
      outcome: 'Fail',
      value: 0.04,
      consecutivePasses: 0,
      failures: 1,
    });

    // Resumed: the step is intended again and its gate starts afresh under the same name.
    writeTrail(dir, [
      ['A', 'step-intent', { stage: 'shift', step: 'reads-25', key: 'A/shift/reads-25', epoch: 2 }],
      ['A', 'check-measured', measured('shift-25', 'Pass', 0.01, 900, { passes: 1, failures: 0 })],
    ]);
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' }).current?.checks[0]).toMatchObject({
      value: 0.01,
      consecutivePasses: 1,
      failures: 0,
      critical: true,
    });

    // The counts are the state machine's, as recorded: nothing is recounted, and a record without them says nothing.
    writeTrail(dir, [['A', 'check-measured', measured('shift-25', 'Pass', 0.02, 950, { passes: 7, failures: 2 })]]);
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' }).current?.checks[0]).toMatchObject({
      value: 0.02,
      consecutivePasses: 7,
      failures: 2,
    });
    writeTrail(dir, [['A', 'check-measured', measured('shift-25', 'Pass', 0.03, 990, null)]]);
    expect(readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' }).current?.checks[0]).toMatchObject({
      value: 0.03,
      consecutivePasses: null,
      failures: null,
      critical: true,
    });
  });

  it('skips a half-written last line, a decision naming no gate and a measurement of no gate; reads nothing from a missing trail', () => {
    const dir = path.join(tmp.dir, 'two');
    writeTrail(dir, [
      ['A', 'stage-started', { stage: 'shift' }],
      ['A', 'gate-decided', { gate: 'shift-5', outcome: 'hold', reason: 'bake' }],
      ['A', 'gate-decided', { outcome: 'hold' }],
      ['A', 'check-measured', { check: 'canary', outcome: 'Error', value: null, reason: 'no gate named' }],
      ['A', 'approval-waiting', { stage: 'finalize', roles: ['db-owner'], timeoutMs: 60000 }],
      [
        'A',
        'approval-webhook',
        {
          stage: 'finalize',
          role: 'db-owner',
          url: 'http://127.0.0.1:9',
          delivered: false,
          status: 500,
          error: 'HTTP 500',
          elapsedMs: 3,
        },
      ],
    ]);
    fs.appendFileSync(
      path.join(dir, 'audit', 'trail.jsonl'),
      '{"action":"gate-decided","actor":"analysis","details":{"gate":"shift-5","outc',
    );
    const gates = readRunGates({ stateDir: dir, runId: 'A', stage: 'shift' });
    expect(gates.total).toBe(1);
    expect(gates.current).toMatchObject({ gate: 'shift-5', decision: 'hold', reasons: ['bake'], checks: [] });
    expect(gates.approvalWait).toMatchObject({ stage: 'finalize', roles: ['db-owner'], timeoutMs: 60000 });
    expect(gates.webhooks).toEqual([
      expect.objectContaining({ role: 'db-owner', delivered: false, status: 500, error: 'HTTP 500' }),
    ]);

    const none = readRunGates({ stateDir: path.join(tmp.dir, 'missing'), runId: 'A', stage: 'shift' });
    expect(none).toEqual({ current: null, decisions: [], total: 0, approvalWait: null, webhooks: [], source: 'none' });
  });
});
