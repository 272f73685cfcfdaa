import { describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from '../common/events.js';
import type { CheckSpec } from '../plan/schema.js';
import { resolveCheck } from './check-config.js';
import { checkResult, checkResultSchema, recordedCheckSchema } from './check-result.js';
import { applyEvaluation, initialCheckState } from './check-state.js';
import { createGate } from './gate.js';
import { createFakeProvider, ok } from './providers/fake.js';

const spec: CheckSpec = {
  name: 'errors',
  metric: 'router.error_rate',
  critical: true,
  dryRun: false,
  onNoData: 'hold',
  onError: 'hold',
  interval: '1s',
  minSamples: 100,
  consecutiveSuccesses: 3,
};
const config = resolveCheck(spec);
const evaluation = {
  outcome: 'Pass' as const,
  reason: 'target error_rate 0.01',
  value: 0.01,
  sourceValue: 0.01,
  ratio: 1,
  samples: 500,
  sourceSamples: 900,
  threshold: { max: 0.05, minSamples: 100 },
  windowMs: 1000,
};

describe('check result', () => {
  it('is built from the state machine: its verdict, passes in a row, failures and counted-as, valid against the schema', () => {
    const before = checkResult('shift-25', config, initialCheckState(config, 0));
    expect(checkResultSchema.parse(before)).toEqual(before);
    expect(before).toMatchObject({
      gate: 'shift-25',
      check: 'errors',
      outcome: null,
      verdict: 'waiting',
      samples: 0,
      threshold: null,
      consecutivePasses: 0,
      failures: 0,
      countedAs: null,
    });

    let state = initialCheckState(config, 0);
    state = applyEvaluation(config, state, evaluation, 1000);
    state = applyEvaluation(config, state, { ...evaluation, outcome: 'Fail', reason: 'too many errors' }, 2000);
    state = applyEvaluation(config, state, evaluation, 3000);
    const after = checkResult('shift-25', config, state);
    expect(checkResultSchema.parse(after)).toEqual(after);
    expect(after).toMatchObject({
      outcome: 'Pass',
      verdict: state.verdict,
      consecutivePasses: 1,
      failures: 1,
      countedAs: 'pass',
      critical: true,
      windowMs: 1000,
      reason: state.reason,
    });
  });

  it('reads back as recorded exactly as built, through JSON', () => {
    let state = initialCheckState(config, 0);
    state = applyEvaluation(config, state, evaluation, 1000);
    const built = checkResult('bake', config, state);
    const read = recordedCheckSchema.parse(JSON.parse(JSON.stringify(built)));
    expect(read).toEqual(built);
  });

  it('reads older and stage records leniently: a name for the check, a number as a maximum, wrong types as absent; refuses a record naming no check', () => {
    expect(
      recordedCheckSchema.parse({ name: 'public.t', outcome: 'Pass', value: 0, threshold: 0, reason: 'equal' }),
    ).toMatchObject({
      check: 'public.t',
      outcome: 'Pass',
      threshold: { max: 0 },
      consecutivePasses: null,
      failures: null,
      gate: null,
      dryRun: false,
      critical: false,
    });
    expect(
      recordedCheckSchema.parse({
        check: 'p99',
        value: 'fast',
        samples: -1,
        threshold: { max: 'x', minSamples: 20 },
        critical: 'yes',
      }),
    ).toMatchObject({
      check: 'p99',
      value: null,
      samples: -1,
      threshold: { minSamples: 20 },
      critical: false,
      reason: '',
    });
    expect(recordedCheckSchema.safeParse({ outcome: 'Pass' }).success).toBe(false);
  });

  it('is what the gate records for every measurement, with the counts of the state machine', async () => {
    let clock = 1_000_000;
    const events: HandoffEvent[] = [];
    const bus = createEventBus({ now: () => new Date(clock) });
    bus.on((event) => events.push(event));
    const series = [0.01, 0.01, 0.5, 0.01].map((rate) => ({
      source: ok({ error_rate: 0.01 }, 5000),
      target: ok({ error_rate: rate }, 1000),
    }));
    const gate = createGate({
      name: 'shift-25',
      checks: [
        {
          config: resolveCheck({ ...spec, critical: false, failureLimit: 3 }),
          provider: createFakeProvider({ series }),
        },
      ],
      bakeMs: 0,
      events: bus,
      now: () => clock,
    });
    await gate.start();
    for (let i = 0; i < 4; i++) {
      await gate.tick();
      clock += 1000;
    }
    await gate.stop();
    const measured = events.filter((e) => e.type === 'check-measured').map((e) => checkResultSchema.parse(e.data));
    expect(measured.map((m) => [m.outcome, m.consecutivePasses, m.failures, m.countedAs])).toEqual([
      ['Pass', 1, 0, 'pass'],
      ['Pass', 2, 0, 'pass'],
      ['Fail', 0, 1, 'fail'],
      ['Pass', 1, 1, 'pass'],
    ]);
    // The decision announced at the first tick lists the same result the measurement recorded.
    const decided = events.find((e): e is HandoffEvent<'gate-decided'> => e.type === 'gate-decided');
    expect(decided?.data.checks).toEqual([measured[0]]);
    expect(gate.decision().checks).toEqual([measured[3]]);
  });
});
