/**
 * A source whose writers commit asynchronously (`synchronous_commit = off`, common where losing the
 * last moment of writes in a crash is accepted for speed): a change is visible on the source at
 * once but reaches the target only when the write-ahead log is flushed (here the WAL writer waits up
 * to a second). Verification under steady writes, and the cutover's settling of the changed rows,
 * must tell those rows on their way from divergence; nothing acknowledged may be lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutoverInOrder } from '../../src/data/data-plane.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { leftovers, appUrl } from './inspect.js';
import { makeHarness, runSteps, testPlan } from './step-harness.js';
import { prepareShopPair, startWorkload } from './workload.js';

describe('a source that commits asynchronously, under a live workload', () => {
  let source: TestPostgres;
  let target: TestPostgres;

  beforeAll(async () => {
    [source, target] = await startTestPostgresAll([
      { settings: { synchronous_commit: 'off', wal_writer_delay: '1000ms' } },
      {},
    ]);
    await prepareShopPair(source, target, 20000);
  });
  afterAll(async () => {
    await Promise.all([source?.close(), target?.close()]);
  });

  it('verifies, settles the changed rows before the hold and cuts over without losing an acknowledged write', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const entry = testPlan('shop').spec.data[0]!;
    const { ctx } = makeHarness({
      runId: 'async1',
      database: 'shop',
      sourceUrl: source.url('shop'),
      targetUrl: target.url('shop'),
    });
    const work = startWorkload(
      { source: appUrl(source, 'shop'), target: appUrl(target, 'shop') },
      { maxOps: 50_000, maxMs: 240_000 },
    );
    try {
      await work.waitForAcks(50);
      await runSteps(ctx, plane.replicationSteps(entry));
      await work.waitForAcks(200);
      // A live pass: rows written while it runs, some of them still on their way, are not divergence.
      const verified = await runSteps(ctx, plane.verificationSteps(entry));
      expect(Object.values(verified)).toContainEqual(expect.objectContaining({ identical: true }));
      await work.waitForAcks(300);
      const cut = await runSteps(ctx, cutoverInOrder(plane.cutoverSteps(entry)));
      // The changed rows were proven before the hold (the counters row is rewritten by every write:
      // it is let go as still moving, and checked under the fence).
      expect(cut['settle-dirty-shop']).toMatchObject({ settled: true });
      expect(cut['pg-shop-recheck-dirty']).toMatchObject({ tracking: 'paused' });
      work.writer = 'target';
      await work.waitForAcks(100);
    } finally {
      await work.stop();
    }
    expect(work.unexpected).toEqual([]);
    const tokens = work.acks.map((a) => a.token);
    const counted = await target.query<{ n: number }>(
      `select count(*)::int as n from public.orders where token = any($1::uuid[])`,
      [tokens],
      'shop',
    );
    expect(counted.rows[0]?.n).toBe(tokens.length);
    await runSteps(ctx, plane.finalizeSteps(entry));
    expect(await leftovers(source, 'shop')).toEqual([]);
    expect(await leftovers(target, 'shop')).toEqual([]);
  });
});
