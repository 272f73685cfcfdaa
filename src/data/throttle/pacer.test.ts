import { describe, expect, it } from 'vitest';
import { HoldRunError } from '../../common/errors.js';
import { createEventBus, type HandoffEvent } from '../../common/events.js';
import type { ThrottleLimits } from './controller.js';
import { createPacer } from './pacer.js';

const limits: ThrottleLimits = {
  maxLatencyRatio: 1.5,
  latencyFloorMs: 20,
  maxReplicationLagMs: 1000,
  maxSourceLoad: 10,
  criticalSourceLoad: 100,
  chunkTargetMs: 500,
  minChunkRows: 100,
  maxChunkRows: 5000,
};

/** A signal that returns the given values in turn, then the last one. */
function sequence(values: Array<number | null>) {
  let i = 0;
  const signal = async () => values[Math.min(i++, values.length - 1)] ?? null;
  return Object.assign(signal, { calls: () => i });
}

/** A pacer judging latency against a run baseline of 10 ms, re-taking it after 40 ms of a pause that does not help. */
function rebaselining(
  router: () => Promise<number | null>,
  options: { maxPauseMs: number; work: string; rebaselineAfterMs?: number },
) {
  const events = createEventBus();
  const seen: HandoffEvent[] = [];
  events.on((event) => seen.push(event));
  const { rebaselineAfterMs = 40, ...rest } = options;
  const pacer = createPacer(
    { limits: { ...limits, rebaselineAfterMs }, checkIntervalMs: 10, baselineP99Ms: 10, ...rest },
    { signals: { routerP99Ms: router }, events },
  );
  return { pacer, seen };
}

describe('createPacer', () => {
  it('takes one measurement for workers that ask at the same time, and none again within the interval', async () => {
    const load = sequence([1]);
    const pacer = createPacer(
      { limits, maxPauseMs: 1000, checkIntervalMs: 60_000, work: 'verify' },
      { signals: { sourceLoad: load } },
    );
    const sizes = await Promise.all([pacer.ready(), pacer.ready(), pacer.ready()]);
    expect(sizes).toEqual([5000, 5000, 5000]);
    await pacer.ready();
    expect(load.calls()).toBe(1);
  });

  it('holds every worker during a pause and lets them all go when it clears, with one pair of events', async () => {
    const events = createEventBus();
    const seen: HandoffEvent[] = [];
    events.on((event) => seen.push(event));
    const load = sequence([50, 50, 50, 2]);
    const pacer = createPacer(
      { limits, maxPauseMs: 5000, checkIntervalMs: 10, work: 'verify', subject: 'shop' },
      { signals: { sourceLoad: load }, events },
    );
    await Promise.all([pacer.ready(), pacer.ready()]);
    expect(seen.map((event) => [event.type, event.subject, event.actor])).toEqual([
      ['throttle-paused', 'shop', 'throttle'],
      ['throttle-resumed', 'shop', 'throttle'],
    ]);
    expect(seen[0]?.data).toMatchObject({ reason: 'source-load', value: 50, limit: 10 });
    expect(pacer.stats().pauses).toBe(1);
    expect(pacer.stats().pausedMs).toBeGreaterThanOrEqual(20);
  });

  it('runs the pause hooks around a pause, and the resume hook when the pause ends in a hold', async () => {
    const calls: string[] = [];
    const hooks = {
      paused: async () => void calls.push('paused'),
      resumed: async () => void calls.push('resumed'),
    };
    const pacer = createPacer(
      { limits, maxPauseMs: 30, checkIntervalMs: 10, work: 'copy' },
      { signals: { replicationLagMs: sequence([5000]) } },
    );
    const error = await pacer.ready(undefined, hooks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HoldRunError);
    expect((error as Error).message).toContain(
      'copy stopped by the throttle: replication lag 5000 ms is above 1000 ms for longer than the longest pause (30 ms)',
    );
    expect(calls).toEqual(['paused', 'resumed']);
  });

  it('judges by the latency after a slow lag measurement, not the latency when that began', async () => {
    // The heartbeat lag waits for its marker (here 30 ms, a catch-up); the service got slow meanwhile.
    let lagDone = false;
    const lag = async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      lagDone = true;
      return 20;
    };
    const router = async () => (lagDone ? 500 : 10);
    const events = createEventBus();
    const seen: HandoffEvent[] = [];
    events.on((event) => seen.push(event));
    const pacer = createPacer(
      { limits, maxPauseMs: 100, checkIntervalMs: 10, work: 'index-build', baselineP99Ms: 10 },
      { signals: { routerP99Ms: router, replicationLagMs: lag }, events },
    );
    await pacer.start();
    await expect(pacer.ready()).rejects.toBeInstanceOf(HoldRunError);
    const paused = seen.find((event) => event.type === 'throttle-paused');
    expect(paused?.data).toMatchObject({ reason: 'latency', value: 500, limit: 20 });
  });

  it('holds at once on a critical load, without a pause', async () => {
    const events = createEventBus();
    const seen: string[] = [];
    events.on((event) => seen.push(event.type));
    const pacer = createPacer(
      { limits, maxPauseMs: 5000, checkIntervalMs: 10, work: 'verify' },
      { signals: { sourceLoad: sequence([100]) }, events },
    );
    await expect(pacer.ready()).rejects.toThrow(/source load 100 is at or above the critical limit 100/);
    expect(seen).toEqual([]);
  });

  it('goes on without a signal that fails, and says so', async () => {
    const warnings: string[] = [];
    const pacer = createPacer(
      { limits, maxPauseMs: 1000, checkIntervalMs: 10, work: 'verify' },
      {
        signals: {
          sourceLoad: async () => {
            throw new Error('connection reset');
          },
        },
        warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`),
      },
    );
    expect(await pacer.ready()).toBe(5000);
    expect(warnings[0]).toContain('connection reset');
  });

  it('takes the baseline at start, and shrinks the chunk size from the chunks reported', async () => {
    const p99 = sequence([12, 13, 13]);
    const pacer = createPacer(
      { limits, maxPauseMs: 1000, checkIntervalMs: 0, work: 'verify' },
      { signals: { routerP99Ms: p99 } },
    );
    await pacer.start();
    expect(pacer.stats().baselineP99Ms).toBe(12);
    pacer.chunkDone(5000, 1500);
    pacer.chunkDone(5000, 500);
    // 10,000 rows in 2,000 ms of statements: 5 rows/ms, so 2,500 rows per 0.5 s
    expect(await pacer.ready()).toBe(2500);
  });

  it("rests the nice ratio times a chunk's time after it, none without a ratio, and stops resting when aborted", async () => {
    const options = { maxPauseMs: 1000, checkIntervalMs: 1000, work: 'copy' };
    const flat = createPacer({ ...options, limits }, { signals: {} });
    const raced = await Promise.race([
      flat.rest(10_000).then(() => 'rested'),
      new Promise((resolve) => setTimeout(() => resolve('still resting'), 200)),
    ]);
    expect(raced).toBe('rested');
    const nice = createPacer({ ...options, limits: { ...limits, niceRatio: 1 } }, { signals: {} });
    const started = performance.now();
    await nice.rest(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    const abort = new AbortController();
    const resting = nice.rest(10_000, abort.signal);
    abort.abort();
    await expect(resting).rejects.toThrow();
  });

  it('resumes a latency pause at half the share of the time: the event says so and each chunk is followed by as long a rest', async () => {
    const events = createEventBus();
    const seen: HandoffEvent[] = [];
    events.on((event) => seen.push(event));
    const pacer = createPacer(
      { limits, maxPauseMs: 5000, checkIntervalMs: 10, work: 'verify', baselineP99Ms: 10 },
      { signals: { routerP99Ms: sequence([40, 40, 12]) }, events },
    );
    await pacer.start();
    const rows = await pacer.ready();
    expect(seen.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
    // Paused at 40 (a breach: the share halves once, not per check), resumed at 12 (one step given back).
    expect(seen[1]?.data).toMatchObject({ work: 'verify', reason: 'latency', workShare: 0.525 });
    expect(pacer.stats().workShare).toBe(0.525);
    expect(rows).toBe(5000);
    const started = performance.now();
    await pacer.rest(60);
    // 60 × (1 / 0.525 − 1) = 54 ms
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    // Shared by the same pacer's other kinds of work.
    expect(pacer.as('recheck').stats().workShare).toBe(0.525);
  });

  it('judges latency against the run baseline it is given, not the p99 when its work starts', async () => {
    const router = sequence([25]);
    const given = createPacer(
      { limits, maxPauseMs: 30, checkIntervalMs: 10, work: 'verify', baselineP99Ms: 10 },
      { signals: { routerP99Ms: router } },
    );
    await given.start();
    expect(router.calls()).toBe(0);
    // 25 ms is above max(10 × 1.5, 20): paused until the longest pause holds the run.
    await expect(given.ready()).rejects.toBeInstanceOf(HoldRunError);
    const own = createPacer(
      { limits, maxPauseMs: 30, checkIntervalMs: 10, work: 'verify' },
      { signals: { routerP99Ms: sequence([25]) } },
    );
    await own.start();
    expect(await own.ready()).toBe(5000);
    expect(own.stats().baselineP99Ms).toBe(25);
  });

  it('re-takes the baseline when a latency pause does not bring the p99 down, and goes on', async () => {
    // The service's own latency moved from 10 to about 40 ms: pausing does not help.
    const { pacer, seen } = rebaselining(sequence([40, 40, 38, 39, 41, 40, 39, 38, 40]), {
      maxPauseMs: 5000,
      work: 'copy',
    });
    await pacer.start();
    expect(await pacer.ready()).toBe(5000);
    expect(seen.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-rebaselined', 'throttle-resumed']);
    const rebased = seen[1]?.data as { from: number; to: number; message: string };
    expect(rebased.from).toBe(10);
    expect(rebased.to).toBeGreaterThanOrEqual(38);
    expect(rebased.to).toBeLessThanOrEqual(41);
    expect(rebased.message).toMatch(/service's latency moved/);
    expect(pacer.stats()).toMatchObject({ rebaselines: 1, baselineP99Ms: rebased.to });
  });

  it('keeps the baseline when pausing helps, and without the rule pauses until the longest pause', async () => {
    // The p99 falls under its limit before the rule's time is up (10 s here: with 40 ms, a 10 ms check
    // that fired 30 ms late on a loaded machine would re-take the baseline at 30, which is the rule).
    const { pacer: helps, seen } = rebaselining(sequence([40, 30, 12]), {
      maxPauseMs: 5000,
      work: 'copy',
      rebaselineAfterMs: 10_000,
    });
    await helps.start();
    await helps.ready();
    expect(seen.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
    expect(helps.stats()).toMatchObject({ rebaselines: 0, baselineP99Ms: 10 });
    const never = createPacer(
      { limits, maxPauseMs: 60, checkIntervalMs: 10, work: 'copy', baselineP99Ms: 10 },
      { signals: { routerP99Ms: sequence([40]) } },
    );
    await never.start();
    await expect(never.ready()).rejects.toBeInstanceOf(HoldRunError);
    expect(never.stats().rebaselines).toBe(0);
  });

  it('goes back to the first baseline once the p99 is under its limit again, and judges by it from then on', async () => {
    // A long burst (a catch-up) outlasts the pause: the baseline is re-taken at about 40 ms; then
    // the service is quiet again (12 ms) and later slow again (30 ms, over the first limit of 20 ms).
    const router = sequence([40, 40, 40, 40, 40, 40, 40, 40, 12, 30]);
    const { pacer, seen } = rebaselining(router, { maxPauseMs: 60, work: 'verify' });
    await pacer.start();
    await pacer.ready();
    expect(pacer.stats().baselineP99Ms).toBe(40);
    // Ask until the quiet measurement is taken: the baseline is the run's again.
    while (router.calls() < 9) {
      await new Promise((resolve) => setTimeout(resolve, 12));
      await pacer.ready();
    }
    expect(pacer.stats().baselineP99Ms).toBe(10);
    const restored = seen.filter((e) => e.type === 'throttle-rebaselined').at(-1)?.data as { from: number; to: number };
    expect(restored).toMatchObject({ from: 40, to: 10 });
    // 30 ms is over the first baseline's limit again: a pause judged against 20 ms.
    const before = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 12));
    await pacer.ready();
    const paused = seen.slice(before).find((e) => e.type === 'throttle-paused')?.data;
    expect(paused).toMatchObject({ reason: 'latency', value: 30, limit: 20 });
  });
});
