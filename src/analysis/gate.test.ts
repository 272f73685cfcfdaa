import { describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from '../common/events.js';
import type { CheckSpec } from '../plan/schema.js';
import { resolveCheck } from './check-config.js';
import { createGate, type GateCheck } from './gate.js';
import type { MetricProvider } from './provider.js';
import { createFakeProvider, ok, type RecordedStep } from './providers/fake.js';
import { evaluateShare, shareBounds, shareCheckConfig } from './share.js';

const spec = (overrides: Partial<CheckSpec>): CheckSpec => ({
  name: 'errors',
  metric: 'router.error_rate',
  critical: false,
  dryRun: false,
  onNoData: 'hold',
  onError: 'hold',
  interval: '1s',
  minSamples: 100,
  ...overrides,
});
const errors = (target: number, source = 0.01): RecordedStep => ({
  source: ok({ error_rate: source }, 5000),
  target: ok({ error_rate: target }, 1000),
});
const split = (source: number, target: number): RecordedStep => ({ source: ok({}, source), target: ok({}, target) });

function setup(checks: (clock: () => number) => GateCheck[], bakeMs = 3000) {
  let clock = 1_000_000;
  const events: HandoffEvent[] = [];
  const bus = createEventBus({ now: () => new Date(clock) });
  bus.on((e) => events.push(e));
  const gate = createGate({ name: 'shift-25', checks: checks(() => clock), bakeMs, events: bus, now: () => clock });
  return {
    gate,
    events,
    advance(ms: number) {
      clock += ms;
    },
  };
}

describe('gate', () => {
  it('advances only after the bake time, consecutive passes and an observed share within tolerance', async () => {
    const { gate, events, advance } = setup(() => [
      {
        config: resolveCheck(spec({ consecutiveSuccesses: 2 })),
        provider: createFakeProvider({ series: [errors(0.01), errors(0.01), errors(0.01), errors(0.01)] }),
      },
      {
        config: shareCheckConfig({ expected: 0.25, intervalMs: 1000 }),
        provider: createFakeProvider({ series: [split(760, 240), split(750, 250), split(740, 260), split(750, 250)] }),
        evaluate: (m) => evaluateShare({ expected: 0.25, intervalMs: 1000 }, m),
        sites: ['source', 'target'],
      },
    ]);
    await gate.start();
    const decisions: string[] = [];
    for (let i = 0; i < 4; i++) {
      decisions.push((await gate.tick()).decision);
      advance(1000);
    }
    expect(decisions).toEqual(['hold', 'hold', 'hold', 'advance']);
    const last = gate.decision();
    expect(last.reasons[0]).toBe('bake of 3 s done and all 2 checks passed');
    expect(events.filter((e) => e.type === 'gate-decided').map((e) => (e.data as { outcome: string }).outcome)).toEqual(
      ['hold', 'advance'],
    );
    expect(events.filter((e) => e.type === 'check-measured')).toHaveLength(8);
    await gate.stop();
  });

  it('rolls back on a Fail beyond the limit and records the values that caused it', async () => {
    const { gate, events, advance } = setup(() => [
      {
        config: resolveCheck(spec({ failureLimit: 0 })),
        provider: createFakeProvider({ series: [errors(0.01), errors(0.2, 0.01)] }),
      },
    ]);
    await gate.start();
    expect((await gate.tick()).decision).toBe('hold');
    advance(1000);
    const decision = await gate.tick();
    expect(decision.decision).toBe('rollback');
    expect(decision.reasons[0]).toMatch(
      /^check errors failed: 1 failed measurements exceed failureLimit 0; last Fail: target error_rate 0.2 is 20× the source's 0.01/,
    );
    const measured = events.filter((e) => e.type === 'check-measured').at(-1)?.data;
    expect(measured).toMatchObject({
      gate: 'shift-25',
      check: 'errors',
      outcome: 'Fail',
      value: 0.2,
      sourceValue: 0.01,
      ratio: 20,
      samples: 1000,
      verdict: 'failed',
      threshold: { warn: 1.1, fail: 2, minSamples: 100 },
    });
    const decided = events.filter((e) => e.type === 'gate-decided').at(-1);
    expect(decided?.data).toMatchObject({
      gate: 'shift-25',
      outcome: 'rollback',
      checks: [{ check: 'errors', value: 0.2, sourceValue: 0.01 }],
    });
  });

  it('a dryRun check is measured and recorded but never rolls back', async () => {
    const { gate, events } = setup(
      () => [
        {
          config: resolveCheck(spec({ name: 'shadow', dryRun: true, critical: true })),
          provider: createFakeProvider({ series: [errors(0.5)] }),
        },
        { config: resolveCheck(spec({ name: 'real' })), provider: createFakeProvider({ series: [errors(0.01)] }) },
      ],
      0,
    );
    await gate.start();
    const decision = await gate.tick();
    expect(decision.decision).toBe('advance');
    expect(decision.reasons).toContainEqual(
      expect.stringMatching(
        /^dry run: check shadow would have rolled back \(critical check breached: Fail: target error_rate 0.5 is 50× the source's 0.01, at or above fail 2 \(500 errors in 1000 target requests/,
      ),
    );
    const shadow = events.find((e) => e.type === 'check-measured' && e.subject === 'shadow');
    expect(shadow?.data).toMatchObject({ outcome: 'Fail', dryRun: true, verdict: 'failed' });
  });

  it('a provider that hangs or throws is an Error: the gate holds, nothing rolls back', async () => {
    const hanging: MetricProvider = {
      kind: 'fake',
      fields: [],
      start: async () => {},
      stop: async () => {},
      measure: () => new Promise(() => {}),
    };
    const throwing: MetricProvider = {
      kind: 'fake',
      fields: [],
      start: async () => {},
      stop: async () => {},
      measure: async () => {
        throw new Error('socket hang up');
      },
    };
    let clock = 0;
    const gate = createGate({
      name: 'g',
      bakeMs: 0,
      now: () => clock,
      measureTimeoutMs: 100,
      checks: [
        { config: resolveCheck(spec({ name: 'slow', onError: 'hold' })), provider: hanging },
        { config: resolveCheck(spec({ name: 'broken' })), provider: throwing },
      ],
    });
    await gate.start();
    const started = Date.now();
    const decision = await gate.tick();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(decision.decision).toBe('hold');
    expect(decision.checks.map((c) => c.outcome)).toEqual(['Error', 'Error']);
    expect(decision.checks[0]?.reason).toMatch(/did not answer within 100 ms/);
    expect(decision.checks[1]?.reason).toMatch(/the fake provider failed: socket hang up/);
    clock += 11 * 60_000;
    expect(gate.decision().decision).toBe('escalate');
  });

  it('holds while the observed share is outside the tolerance of the weight asked for', async () => {
    const { gate } = setup(
      () => [
        {
          config: shareCheckConfig({ expected: 0.05, intervalMs: 1000 }),
          provider: createFakeProvider({ series: [split(700, 300)] }),
          evaluate: (m) => evaluateShare({ expected: 0.05, intervalMs: 1000 }, m),
          sites: ['source', 'target'],
        },
      ],
      0,
    );
    await gate.start();
    const decision = await gate.tick();
    expect(decision.decision).toBe('hold');
    expect(decision.reasons[0]).toBe(
      'check observed-share holding: Inconclusive: target received 30 % of 1000 requests, 5 % asked for: outside 3-7 %, so the step holds; ' +
        'the weights are not in effect (read-after-write stickiness is not counted by this router, or something in front of it splits traffic)',
    );
  });

  it('counts a site without requests as a share of 0: 100 % passes with an idle source, an idle target at 5 % holds', () => {
    const idle = { status: 'no-data' as const, reason: 'no requests' };
    const all = evaluateShare(
      { expected: 1, intervalMs: 1000 },
      { at: 0, windowMs: 1000, sites: { source: idle, target: ok({}, 500) } },
    );
    expect(all).toMatchObject({ outcome: 'Pass', value: 1, samples: 500 });
    const none = evaluateShare(
      { expected: 0.05, intervalMs: 1000 },
      { at: 0, windowMs: 1000, sites: { source: ok({}, 500), target: idle } },
    );
    expect(none).toMatchObject({ outcome: 'Inconclusive', value: 0 });
    const nothing = evaluateShare(
      { expected: 0.05, intervalMs: 1000 },
      { at: 0, windowMs: 1000, sites: { source: idle, target: idle } },
    );
    expect(nothing.outcome).toBe('NoData');
  });

  it('computes share bounds as max(2 pp, 20 % of the weight)', () => {
    expect(shareBounds(0.01)).toEqual({ min: 0, max: 0.03 });
    const half = shareBounds(0.5);
    expect(half.min).toBeCloseTo(0.4, 10);
    expect(half.max).toBeCloseTo(0.6, 10);
  });

  it('widens the window to the whole step when the target had fewer than minSamples in it (low weights)', async () => {
    const few: RecordedStep = { source: ok({ error_rate: 0.01 }, 5000), target: ok({ error_rate: 0 }, 30) };
    const enough: RecordedStep = { source: ok({ error_rate: 0.01 }, 20_000), target: ok({ error_rate: 0.005 }, 150) };
    const provider = createFakeProvider({ series: [few, few, enough] });
    const { gate, events, advance } = setup(
      () => [{ config: resolveCheck(spec({ window: '5s', interval: '5s' })), provider }],
      0,
    );
    await gate.start();
    expect((await gate.tick()).checks[0]?.outcome).toBe('Inconclusive'); // step younger than the window: no widening
    advance(12_000);
    const decision = await gate.tick();
    expect(provider.windows()).toEqual([5000, 5000, 12_000]);
    expect(decision.checks[0]).toMatchObject({ outcome: 'Pass', samples: 150 });
    expect(events.filter((e) => e.type === 'check-measured').at(-1)?.data).toMatchObject({ windowMs: 12_000 });
  });

  it('is not reentrant: overlapping ticks share one measurement', async () => {
    const provider = createFakeProvider({ series: [errors(0.01), errors(0.01)] });
    const { gate } = setup(() => [{ config: resolveCheck(spec({})), provider }], 0);
    await gate.start();
    const [a, b] = await Promise.all([gate.tick(), gate.tick()]);
    expect(a).toBe(b);
    expect(provider.calls()).toBe(1);
  });
});
