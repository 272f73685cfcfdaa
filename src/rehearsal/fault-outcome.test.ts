import { describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from '../common/events.js';
import '../engine/events.js';
import '../data/throttle/events.js';
import type { HistoryOp, OpType } from './history.js';
import { judgeFault, REACTION_ORDER, trailEvents, type TrailEvent } from './fault-outcome.js';

const T0 = Date.parse('2026-12-04T08:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const ev = (ms: number, type: string, data: Record<string, unknown> = {}): TrailEvent => ({ type, time: at(ms), data });

let opNo = 0;
/** One completed operation (an invoke 50 ms before its completion) per entry. */
function ops(...completions: Array<[number, OpType]>): HistoryOp[] {
  return completions.flatMap(([ms, type]) => {
    const op = opNo++;
    const base = { f: 'order' as const, process: 'c1', op, value: { requestId: `r${op}` } };
    return [
      { ...base, type: 'invoke' as const, time: T0 + ms - 50 },
      { ...base, type, time: T0 + ms },
    ];
  });
}
/** Successful operations every 100 ms over [from, to]. */
function steady(from: number, to: number): Array<[number, OpType]> {
  const list: Array<[number, OpType]> = [];
  for (let ms = from; ms <= to; ms += 100) list.push([ms, 'ok']);
  return list;
}

/** A run that progresses before and after the fault window [1000, 3000]. */
const runGoingOn: TrailEvent[] = [
  ev(0, 'lease-acquired', { epoch: 1, holder: 'a' }),
  ev(100, 'stage-started', { stage: 'shift' }),
  ev(3500, 'step-done', { stage: 'shift', step: 'weights-2', key: 'k' }),
];
const window = { injectedAt: at(1000), clearedAt: at(3000) };

describe('judgeFault', () => {
  it('orders the reactions failback > rollback > hold > resume > retry > throttle > none', () => {
    expect(REACTION_ORDER).toEqual(['failback', 'rollback', 'hold', 'resume', 'retry', 'throttle', 'none']);
  });

  const cases: Array<[string, TrailEvent, string]> = [
    ['throttle', ev(1500, 'throttle-paused', { work: 'copy' }), 'throttle-paused'],
    ['retry', ev(1500, 'step-attempt-failed', { next: 'retry', attempt: 1 }), 'step-attempt-failed'],
    ['retry', ev(1500, 'step-intent', { stage: 'shift', step: 's', key: 'k', epoch: 1, attempt: 2 }), 'step-intent'],
    ['resume', ev(1500, 'lease-acquired', { epoch: 2, holder: 'b' }), 'lease-acquired'],
    ['resume', ev(1500, 'run-resumed', { by: 'op' }), 'run-resumed'],
    ['hold', ev(1500, 'run-paused', { reason: 'gate' }), 'run-paused'],
    [
      'hold',
      ev(1500, 'gate-decided', { gate: 'shift', outcome: 'hold', reason: 'r', checks: [{ outcome: 'Fail' }] }),
      'gate-decided',
    ],
    ['rollback', ev(1500, 'rollback-started', { stage: 'shift', reason: 'errors' }), 'rollback-started'],
    ['rollback', ev(1500, 'traffic-weights', { reason: 'rollback: reads back on the source' }), 'traffic-weights'],
    ['failback', ev(1500, 'traffic-weights', { reason: 'failback: writes and reads back' }), 'traffic-weights'],
    ['failback', ev(1500, 'rollback-started', { stage: 'bake', reason: 'errors' }), 'rollback-started'],
  ];
  it.each(cases)('reads %s from a %s event in the window', (reaction, event, type) => {
    const outcome = judgeFault(window, [...runGoingOn, event], ops(...steady(0, 8000)));
    expect(outcome.reaction).toBe(reaction);
    expect(outcome.evidence).toEqual({ type, time: event.time });
  });

  it('takes the strongest reaction of several, and ignores events outside the window', () => {
    const events = [
      ...runGoingOn,
      ev(500, 'rollback-started', { stage: 'shift', reason: 'before the fault' }),
      ev(1200, 'throttle-paused', { work: 'copy' }),
      ev(1300, 'step-attempt-failed', { next: 'retry' }),
      ev(1400, 'run-paused', { reason: 'gate' }),
      ev(1450, 'step-attempt-failed', { next: 'exhausted' }),
      ev(9000, 'traffic-weights', { reason: 'failback: after the recovery' }),
    ];
    const outcome = judgeFault(window, events, ops(...steady(0, 8000)));
    expect(outcome.reaction).toBe('hold');
    expect(outcome.evidence?.time).toBe(at(1400));
  });

  it("the run's first lease (epoch 1) is no resume, even after another run's leases in the same trail", () => {
    const events = [
      ev(-5000, 'lease-acquired', { epoch: 1, holder: 'an earlier run' }),
      ev(1100, 'lease-acquired', { epoch: 1, holder: 'a' }),
      ev(3500, 'step-done', {}),
    ];
    expect(judgeFault(window, events, ops(...steady(0, 8000))).reaction).toBe('none');
    const noEpoch = [ev(0, 'lease-acquired', {}), ev(1100, 'lease-acquired', {}), ev(3500, 'step-done', {})];
    expect(judgeFault(window, noEpoch, ops(...steady(0, 8000))).reaction).toBe('resume');
  });

  it('counts failed and unknown operations until the recovery, and recovers once the clients saw none for 2 s', () => {
    const history = ops(
      ...steady(0, 900),
      [950, 'fail'], // before the injection: not counted
      [1100, 'fail'],
      [1500, 'info'],
      [2900, 'fail'],
      [4000, 'info'], // after the clearing: pushes the clients' recovery to 4000 (the run went on at 3500)
      ...steady(3500, 9000),
      [9500, 'fail'], // after the recovery: not counted
    );
    const outcome = judgeFault(window, runGoingOn, history);
    expect(outcome.failed).toBe(2);
    expect(outcome.unknown).toBe(2);
    expect(outcome.failedRequests).toBe(4);
    expect(outcome.recoveryMs).toBe(3000); // 4000 - 1000
  });

  it('a failure within the settle window pushes the recovery on; one after it does not', () => {
    const history = ops(...steady(0, 9000), [4500, 'info'], [6000, 'fail'], [8600, 'fail']);
    // clearing 3000 -> failure 4500 (1.5 s later) -> 6000 (1.5 s) -> settled until 8000; 8600 is after the window
    expect(judgeFault(window, runGoingOn, history).recoveryMs).toBe(5000);
  });

  it('the recovery waits for the run to go on after the clearing', () => {
    const events = [...runGoingOn.slice(0, 2), ev(2000, 'lease-lost', {}), ev(6200, 'step-intent', { epoch: 2 })];
    const outcome = judgeFault(window, events, ops(...steady(0, 9000)));
    expect(outcome.recoveryMs).toBe(5200);
  });

  it('a baking step goes on when its gate measures a check passing; a failing measurement is no progress', () => {
    const events = [
      ...runGoingOn.slice(0, 2),
      ev(3400, 'check-measured', { gate: 'bake', check: 'errors', outcome: 'Fail' }),
      ev(3600, 'check-measured', { gate: 'bake', check: 'observed-share', outcome: 'Inconclusive' }),
      ev(3800, 'check-measured', { gate: 'bake', check: 'errors', outcome: 'Pass' }),
      ev(9000, 'rollback-started', { stage: 'bake' }),
    ];
    expect(judgeFault(window, events, ops(...steady(0, 9000)))).toMatchObject({
      reaction: 'none',
      recoveryMs: 2800,
      failedRequests: 0,
    });
  });

  it("a step's retries are no progress: the run goes on when a step gets done", () => {
    const events = [
      ...runGoingOn.slice(0, 2),
      ev(3200, 'step-intent', { stage: 'replicate', step: 'copy', key: 'k', epoch: 1, attempt: 2 }),
      ev(4200, 'step-intent', { stage: 'replicate', step: 'copy', key: 'k', epoch: 1, attempt: 3 }),
      ev(5100, 'step-done', { stage: 'replicate', step: 'copy', key: 'k', attempts: 3 }),
    ];
    expect(judgeFault(window, events, ops(...steady(0, 9000)))).toMatchObject({ reaction: 'retry', recoveryMs: 4100 });
  });

  it('a run that finished (succeeded) before the clearing is going on at the clearing', () => {
    const events = [ev(100, 'stage-started', {}), ev(2000, 'run-finished', { state: 'succeeded' })];
    const history = ops(...steady(0, 6000), [2500, 'fail']);
    expect(judgeFault(window, events, history).recoveryMs).toBe(2000); // cleared at 3000, clients quiet since
  });

  it('never recovered: clients fail to the end of the history (failures counted to the end)', () => {
    const history = ops(...steady(0, 900));
    for (let ms = 1000; ms <= 9000; ms += 500) history.push(...ops([ms, 'info']));
    const outcome = judgeFault(window, runGoingOn, history);
    expect(outcome.recoveryMs).toBeNull();
    expect(outcome.failedRequests).toBe(17);
  });

  it('never recovered: the run never goes on after the clearing', () => {
    const events = [...runGoingOn.slice(0, 2), ev(1500, 'run-finished', { state: 'failed' })];
    const outcome = judgeFault(window, events, ops(...steady(0, 9000)));
    expect(outcome.recoveryMs).toBeNull();
  });

  it('never recovered: the fault was never cleared', () => {
    const outcome = judgeFault({ injectedAt: at(1000), clearedAt: null }, runGoingOn, ops(...steady(0, 9000)));
    expect(outcome.recoveryMs).toBeNull();
  });

  it('a history that ends before the settle window: recovered only if no client failed since the injection', () => {
    const hurt = judgeFault(window, runGoingOn, ops(...steady(0, 4000), [1500, 'info']));
    expect(hurt.recoveryMs).toBeNull();
    expect(judgeFault(window, runGoingOn, ops(...steady(0, 5000), [1500, 'info'])).recoveryMs).toBe(2500);
    expect(judgeFault(window, runGoingOn, ops(...steady(0, 4000), [500, 'info'])).recoveryMs).toBe(2500);
    // The load stopped before the fault (finalize): only the run counts.
    const late = { injectedAt: at(6000), clearedAt: at(7000) };
    const events = [...runGoingOn, ev(6500, 'step-done', {}), ev(7400, 'run-finished', { state: 'succeeded' })];
    expect(judgeFault(late, events, ops(...steady(0, 4000))).recoveryMs).toBe(0); // progressed while in place
    expect(judgeFault(late, events.slice(0, -2), ops(...steady(0, 4000))).recoveryMs).toBeNull(); // never went on
    expect(
      judgeFault(
        late,
        events.filter((e) => e.time !== at(6500)),
        ops(...steady(0, 4000)),
      ).recoveryMs,
    ).toBe(1400);
  });

  it('a fault with no effect (no reaction, no failure, the run progressing during it) recovers at once: 0', () => {
    const events = [...runGoingOn, ev(2000, 'step-done', {})];
    const outcome = judgeFault(window, events, ops(...steady(0, 9000)));
    expect(outcome).toMatchObject({ reaction: 'none', recoveryMs: 0, failedRequests: 0, evidence: null });
  });

  it('a fault that stalled the run (no progress while it was in place) recovers when the run goes on', () => {
    const outcome = judgeFault(window, runGoingOn, ops(...steady(0, 9000)));
    expect(outcome).toMatchObject({ reaction: 'none', recoveryMs: 2500, failedRequests: 0 });
  });

  it('a planned pause (--until) and the resume that follows it are no reaction; a kill after it is', () => {
    const events = [
      ...runGoingOn,
      ev(1200, 'run-paused', { reason: 'until bake' }),
      ev(1400, 'lease-acquired', { epoch: 2, holder: 'b' }),
      ev(1450, 'run-resumed', { by: 'rehearsal' }),
      ev(1500, 'step-intent', { stage: 'bake', step: 's', key: 'k', epoch: 2 }),
    ];
    expect(judgeFault(window, events, ops(...steady(0, 9000))).reaction).toBe('none');
    const killed = [...events, ev(2500, 'lease-acquired', { epoch: 3, holder: 'c' })];
    expect(judgeFault(window, killed, ops(...steady(0, 9000))).evidence).toEqual({
      type: 'lease-acquired',
      time: at(2500),
    });
    const held = [...runGoingOn, ev(1200, 'run-paused', { reason: 'the gate of stage shift decided hold: x' })];
    expect(judgeFault(window, held, ops(...steady(0, 9000))).reaction).toBe('hold');
  });

  it("a gate's first decision, a hold for want of data, is no reaction; its later hold is", () => {
    const noData = { outcome: 'NoData', failures: 0 };
    const decide = (ms: number, gate: string, outcome: string, checks = [noData]) =>
      ev(ms, 'gate-decided', { gate, outcome, reason: 'r', checks });
    const first = [...runGoingOn, decide(1200, 'bake', 'hold')];
    expect(judgeFault(window, first, ops(...steady(0, 9000))).reaction).toBe('none');
    const later = [...first, decide(1600, 'bake', 'advance', []), decide(2000, 'bake', 'hold')];
    expect(judgeFault(window, later, ops(...steady(0, 9000))).evidence?.time).toBe(at(2000));
    const failing = [...runGoingOn, decide(1200, 'shift-5', 'hold', [{ outcome: 'Inconclusive', failures: 1 }])];
    expect(judgeFault(window, failing, ops(...steady(0, 9000))).reaction).toBe('hold');
  });

  it("takes the event bus's own events (HandoffEvent) as they are", () => {
    let clock = T0;
    const bus = createEventBus({ runId: 'r1', now: () => new Date(clock) });
    const events: HandoffEvent[] = [];
    bus.on((event) => events.push(event));
    bus.emit('lease-acquired', { epoch: 1, holder: 'a' });
    bus.emit('stage-started', { stage: 'cutover' });
    clock = T0 + 1500;
    bus.emit('lease-acquired', { epoch: 2, holder: 'b' }); // the executor was killed and resumed
    clock = T0 + 3200;
    bus.emit('step-intent', { stage: 'cutover', step: 'fence-source', key: 'k', epoch: 2 });
    const outcome = judgeFault(window, events, ops(...steady(0, 9000)));
    expect(outcome).toMatchObject({ reaction: 'resume', recoveryMs: 2200, failedRequests: 0 });
  });

  it('reads the stored trail records as events', () => {
    const events = trailEvents([{ action: 'throttle-paused', time: at(1500), details: { work: 'copy' } }]);
    expect(events).toEqual([{ type: 'throttle-paused', time: at(1500), data: { work: 'copy' } }]);
    expect(judgeFault(window, [...runGoingOn, ...events], ops(...steady(0, 9000))).reaction).toBe('throttle');
  });
});
