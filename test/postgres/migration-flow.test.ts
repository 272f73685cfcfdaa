import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutoverInOrder } from '../../src/data/data-plane.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness, runSteps, testPlan } from './step-harness.js';
import { prepareShopPair, startWorkload } from './workload.js';
import { leftovers, tableDigest, appUrl } from './inspect.js';
import { objectNames } from '../../src/data/postgres/names.js';

for (const sourceVersion of [18, 15] as const) {
  describe(`migration ${sourceVersion} → 18 under a live workload`, () => {
    let source: TestPostgres;
    let target: TestPostgres;

    beforeAll(async () => {
      [source, target] = await startTestPostgresAll([{ version: sourceVersion }, { version: 18 }]);
      await prepareShopPair(source, target, 20000);
    });
    afterAll(async () => {
      await Promise.all([source?.close(), target?.close()]);
    });

    it(`runs on a PostgreSQL ${sourceVersion} source and an 18 target`, async () => {
      const version = async (server: TestPostgres): Promise<string> =>
        String(
          (await server.query<{ server_version_num: string }>('show server_version_num')).rows[0]?.server_version_num,
        );
      expect((await version(source)).slice(0, 2)).toBe(String(sourceVersion));
      expect((await version(target)).slice(0, 2)).toBe('18');
    });

    it('replicates, cuts over, replicates back, fails back and finalizes without losing an acknowledged write', async () => {
      const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
      const entry = testPlan('shop').spec.data[0]!;
      const dirtyCount = async (): Promise<number> =>
        (
          await target.query<{ n: number }>(
            `select count(*)::int as n from ${objectNames(`flow${sourceVersion}`, 'shop').dirty}`,
            [],
            'shop',
          )
        ).rows[0]!.n;
      const { ctx } = makeHarness({
        runId: `flow${sourceVersion}`,
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
        // The target is fenced against the application from the start of replication.
        await expect(
          target.query(`set role app; insert into public.counters values ('x', 1)`, [], 'shop'),
        ).rejects.toThrow(/permission denied/);
        await work.waitForAcks(200);

        const cut = await runSteps(ctx, cutoverInOrder(plane.cutoverSteps(entry)));
        // The fenced steps used the catalog read before the hold (at the end of settle-dirty).
        expect(cut['pg-shop-sync-sequences']).toMatchObject({ catalog: 'read before the hold' });
        expect(cut['pg-shop-recheck-dirty']).toMatchObject({ catalog: 'read before the hold' });
        // A PostgreSQL 16+ source subscribes before the hold: nothing of reverse replication under it.
        expect(cut['pg-shop-prepare-reverse']).toEqual({ subscriptionEarly: sourceVersion >= 16 });
        expect(cut['pg-shop-start-reverse']).toMatchObject({
          started: sourceVersion >= 16 ? 'before the hold' : 'under the hold',
        });
        const opened = cut['pg-shop-open-target'] as { writesRefusedMs: number };
        expect(opened.writesRefusedMs).toBeGreaterThanOrEqual(0);
        expect(opened.writesRefusedMs).toBeLessThan(30_000);
        work.writer = 'target';
        await work.waitForAcks(200);
        // Writes on the target arrive at the source through reverse replication.
        const onTarget = work.acks.filter((a) => a.site === 'target').map((a) => a.token);
        await expect
          .poll(
            async () =>
              (
                await source.query(
                  `select count(*)::int as n from public.orders where token = any($1::uuid[])`,
                  [onTarget],
                  'shop',
                )
              ).rows[0]?.n,
            { timeout: 30_000 },
          )
          .toBe(onTarget.length);

        // Nothing reads the target's dirty keys after the cutover's re-check: its writes are not recorded.
        expect(await dirtyCount()).toBe(0);

        await runSteps(ctx, plane.failbackSteps(entry));
        work.writer = 'source';
        await work.waitForAcks(200);
        // A replica again after failback: the keys forward replication changes are recorded again.
        await expect.poll(dirtyCount, { timeout: 30_000 }).toBeGreaterThan(0);
      } finally {
        await work.stop();
      }
      expect(work.unexpected).toEqual([]);
      // Forward replication runs again after failback: drain it and compare both sides.
      await runSteps(
        ctx,
        plane.replicationSteps(entry).filter((s) => s.name.endsWith('-catch-up')),
      );
      for (const table of ['public.orders', 'public.items', 'public.counters']) {
        expect(await tableDigest(target, 'shop', table)).toEqual(await tableDigest(source, 'shop', table));
      }
      const tokens = work.acks.map((a) => a.token);
      const counted = await source.query<{ n: number; distinct_n: number }>(
        `select count(*)::int as n, count(distinct token)::int as distinct_n from public.orders where token = any($1::uuid[])`,
        [tokens],
        'shop',
      );
      expect(counted.rows[0]).toEqual({ n: tokens.length, distinct_n: tokens.length });
      expect(new Set(work.acks.map((a) => a.site))).toEqual(new Set(['source', 'target']));

      await runSteps(ctx, plane.finalizeSteps(entry));
      expect(await leftovers(source, 'shop')).toEqual([]);
      expect(await leftovers(target, 'shop')).toEqual([]);
      // After failback the source is the writer; finalize left both open to the application.
      await source.query(`set role app; insert into public.counters values ('y', 1)`, [], 'shop');
      await target.query(`set role app; insert into public.counters values ('y', 1)`, [], 'shop');
    }, 240_000);
  });
}
