import { describe, expect, it } from 'vitest';
import { resolveCheck } from './check-config.js';
import { createGate } from './gate.js';
import { createFakeProvider, ok } from './providers/fake.js';
import { explainCheck, explainGateDecision } from './explain.js';
import { createEventBus, type HandoffEvent } from '../common/events.js';

describe('explain', () => {
  it('says in words why a gate rolled back, with the values and thresholds, from the recorded event', async () => {
    const events: HandoffEvent[] = [];
    const bus = createEventBus();
    bus.on((e) => events.push(e));
    const gate = createGate({
      name: 'shift-25',
      bakeMs: 0,
      events: bus,
      checks: [
        {
          config: resolveCheck({
            name: 'errors',
            metric: 'router.error_rate',
            critical: true,
            dryRun: false,
            onNoData: 'hold',
            onError: 'hold',
            minSamples: 100,
          }),
          provider: createFakeProvider({
            series: [{ source: ok({ error_rate: 0.002 }, 4000), target: ok({ error_rate: 0.2 }, 1000) }],
          }),
        },
      ],
    });
    await gate.start();
    await gate.tick();
    const decided = events.find((e) => e.type === 'gate-decided');
    const text = explainGateDecision(JSON.parse(JSON.stringify(decided?.data)));
    expect(text).toBe(
      [
        'Gate shift-25 decided to roll back:',
        "  - check errors failed: critical check breached: Fail: target error_rate 0.2 is 100× the source's 0.002, at or above fail 2 (200 errors in 1000 target requests, 8 in 4000 source requests, p=2.1e-127)",
        '  Checks:',
        "    errors (router.error_rate) [critical]: Fail (target 0.2, source 0.002, ratio 100×, p=2.1e-127, 1000 target samples, 4000 source) against warn at 1.1×, fail at 2×, at least 100 samples; failed; 1 failed so far, 0 passes in a row. Critical check breached: Fail: target error_rate 0.2 is 100× the source's 0.002, at or above fail 2 (200 errors in 1000 target requests, 8 in 4000 source requests, p=2.1e-127).",
      ].join('\n'),
    );
    const measured = events.find((e) => e.type === 'check-measured');
    // One shape: the measurement reads exactly as the decision's check (analysis/check-result.ts).
    expect(explainCheck(measured?.data)).toBe(text.split('\n').at(-1)?.trim());
  });

  it('reads a record it cannot parse without throwing', () => {
    expect(explainGateDecision({ nope: true })).toMatch(/^\(an unreadable gate decision record/);
    expect(explainCheck(null)).toMatch(/^\(an unreadable check record/);
  });
});
