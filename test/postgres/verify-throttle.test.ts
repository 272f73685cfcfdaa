/**
 * Verification yields to the service (issue 11, point 3): an artificial latency-budget breach (a
 * measurement source that reports the router's p99 far above its baseline) pauses the chunked
 * comparison, and it resumes when the breach clears, with `throttle-paused` and
 * `throttle-resumed` in that order. A breach longer than the longest pause, or a critical source
 * load, stops the work with a HoldRunError naming the reason. Real PostgreSQL, real verification;
 * only the latency source is our own in-memory ThrottleSignals implementation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldRunError } from '../../src/common/errors.js';
import { createEventBus, type HandoffEvent } from '../../src/common/events.js';
import type { ThrottleLimits } from '../../src/data/throttle/controller.js';
import { createPacer } from '../../src/data/throttle/pacer.js';
import { activeBackendsSignal } from '../../src/data/throttle/signals.js';
import { connect } from '../../src/data/postgres/connect.js';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const ROWS = 40_000;
const setup = `
  create table events (order_id bigint, seq int, kind text not null, primary key (order_id, seq));
  insert into events select g / 4, g % 4, 'k' || (g % 7) from generate_series(0, ${ROWS - 1}) g;
  analyze events;`;

const limits: ThrottleLimits = {
  maxLatencyRatio: 1.5,
  latencyFloorMs: 20,
  maxReplicationLagMs: 5000,
  maxSourceLoad: null,
  criticalSourceLoad: null,
  chunkTargetMs: 500,
  minChunkRows: 1000,
  maxChunkRows: 2000,
};

let server: TestPostgres;

beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('a');
  await server.createDatabase('b');
  await Promise.all([server.query(setup, [], 'a'), server.query(setup, [], 'b')]);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/** A router whose p99 is 10 ms until `breach()` is called, then 500 ms for `reads` measurements. */
function breachingLatency() {
  let breachLeft = 0;
  let reads = 0;
  return {
    breach(measurements: number) {
      breachLeft = measurements;
    },
    get reads() {
      return reads;
    },
    signal: async () => {
      reads++;
      if (breachLeft > 0) {
        breachLeft--;
        return 500;
      }
      return 10;
    },
  };
}

describe('verification paced by the throttle', () => {
  it('pauses on a latency breach and resumes when it clears, events in order, the result unchanged', async () => {
    const events = createEventBus();
    const seen: HandoffEvent[] = [];
    events.on((event) => seen.push(event));
    const latency = breachingLatency();
    // The run's baseline (preflight's, as the engine gives it), and a breach that the first check
    // before the first chunk sees: 40,000 rows verify in tens of milliseconds on a quiet machine,
    // so a breach begun part-way could end the comparison before the next check (40 ms) saw it.
    latency.breach(4);
    const pacer = createPacer(
      { limits, maxPauseMs: 30_000, checkIntervalMs: 40, work: 'verify', baselineP99Ms: 10 },
      { signals: { routerP99Ms: latency.signal }, events },
    );
    let chunksDone = 0;
    let doneAtPause = -1;
    let doneAtResume = -1;
    events.on((event) => {
      if (event.type === 'throttle-paused') doneAtPause = chunksDone;
      if (event.type === 'throttle-resumed') doneAtResume = chunksDone;
    });
    const report = await verifyTables({
      source: server.url('a'),
      target: server.url('b'),
      chunkRows: 2000,
      pacer,
      onProgress: (progress) => {
        chunksDone = progress.chunksDone;
      },
    });
    expect(report.identical).toBe(true);
    expect(report.rowsCompared).toBe(ROWS);
    const throttle = seen.filter((event) => event.type.startsWith('throttle-'));
    expect(throttle.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
    expect(throttle[0]?.data).toMatchObject({ work: 'verify', reason: 'latency', value: 500, limit: 20 });
    // four breached measurements, 40 ms apart: the pause lasted at least three intervals
    expect((throttle[1]?.data as { pausedMs: number }).pausedMs).toBeGreaterThanOrEqual(3 * 40);
    // paused before the first chunk: none ran until the breach cleared
    expect(doneAtPause).toBe(0);
    expect(doneAtResume).toBe(0);
    expect(pacer.stats()).toMatchObject({ pauses: 1, baselineP99Ms: 10 });
  }, 60_000);

  it('stops with a HoldRunError naming the reason when a breach outlasts the longest pause', async () => {
    const events = createEventBus();
    const seen: string[] = [];
    events.on((event) => seen.push(event.type));
    const latency = breachingLatency();
    const pacer = createPacer(
      { limits, maxPauseMs: 200, checkIntervalMs: 30, work: 'verify' },
      { signals: { routerP99Ms: latency.signal }, events },
    );
    await pacer.start(); // the baseline, 10 ms, before the breach
    latency.breach(1_000_000);
    const started = Date.now();
    const error = await verifyTables({
      source: server.url('a'),
      target: server.url('b'),
      chunkRows: 2000,
      pacer,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HoldRunError);
    expect((error as Error).message).toMatch(
      /verify stopped by the throttle: router p99 500 ms is above 20 ms .*longer than the longest pause \(200 ms\)/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(seen).toEqual(['throttle-paused']);
    expect(pacer.stats().pauses).toBe(1);
  }, 60_000);

  it('stops at once on a critical source load, measured on the real source', async () => {
    const client = await connect(server.url('a'), { name: 'source' });
    try {
      const pacer = createPacer(
        {
          limits: { ...limits, maxSourceLoad: 0, criticalSourceLoad: 0 },
          maxPauseMs: 10_000,
          checkIntervalMs: 30,
          work: 'verify',
        },
        { signals: { sourceLoad: activeBackendsSignal(client) } },
      );
      const error = await verifyTables({
        source: server.url('a'),
        target: server.url('b'),
        chunkRows: 2000,
        pacer,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HoldRunError);
      expect((error as Error).message).toContain('source load 0 is at or above the critical limit 0');
    } finally {
      await client.end();
    }
  }, 60_000);
});
