import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutoverInOrder } from '../../src/data/data-plane.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { urlAs } from '../../src/data/postgres/replication-role.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness, runSteps, testPlan } from './step-harness.js';
import { APP_PASSWORD, SHOP_GRANTS, SHOP_SCHEMA } from './workload.js';

let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query(`create role app login password '${APP_PASSWORD}'`);
    await server.createDatabase('shop');
    await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], 'shop');
  }
  await source.query(
    `insert into public.orders (token, customer, amount) select gen_random_uuid(), 'c' || g, g from generate_series(1, 2000) g`,
    [],
    'shop',
  );
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

async function walsenders(server: TestPostgres): Promise<string[]> {
  const r = await server.query<{ u: string }>(`select usename as u from pg_stat_replication order by 1`, [], 'shop');
  return r.rows.map((row) => row.u);
}

async function handoffRoles(server: TestPostgres): Promise<string[]> {
  const r = await server.query<{ r: string }>(
    `select rolname as r from pg_roles where rolname like 'handoff%' order by 1`,
  );
  return r.rows.map((row) => row.r);
}

describe("a run's replication uses its own role", () => {
  it('connects as the run role in both directions, survives a password change of the plan URL user, and drops the roles at finalize', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 60_000, markerTimeoutMs: 20_000 });
    const entry = testPlan('shop').spec.data[0]!;
    // The plan's source URL names a user of its own, whose password is rotated below.
    await source.query(`create role migrator login superuser password 'migrator-Pw-1'`);
    const urls = { sourceUrl: urlAs(source.url('shop'), 'migrator', 'migrator-Pw-1'), targetUrl: target.url('shop') };
    const { ctx, events } = makeHarness({ runId: 'rr1', database: 'shop', ...urls });
    Object.assign(ctx.secrets, {
      databaseUrl: (site: 'source' | 'target') => (site === 'source' ? urls.sourceUrl : urls.targetUrl),
    });
    await runSteps(ctx, plane.replicationSteps(entry));
    expect(await handoffRoles(source)).toEqual(['handoff_rr1_shop_repl']);
    await expect.poll(() => walsenders(source), { timeout: 10_000 }).toContain('handoff_rr1_shop_repl');
    expect(await walsenders(source)).not.toContain('migrator');
    const stored = await target.query<{ c: string }>(`select subconninfo as c from pg_subscription`, [], 'shop');
    expect(stored.rows[0]?.c).toContain('handoff_rr1_shop_repl');
    expect(stored.rows[0]?.c).not.toContain('migrator');
    // The role reads only what replication needs: no write privilege, no superuser.
    const role = await source.query<{ s: boolean; r: boolean; w: boolean }>(
      `select rolsuper as s, rolreplication as r, has_table_privilege('handoff_rr1_shop_repl', 'public.orders', 'insert') as w
         from pg_roles where rolname = 'handoff_rr1_shop_repl'`,
      [],
      'shop',
    );
    expect(role.rows[0]).toEqual({ s: false, r: true, w: false });

    // The password of the user in the plan's URL changes mid-run (a rotation); the walsender reconnects.
    const rotated = 'rotated-Pw-' + Date.now();
    await source.query(`alter role migrator password '${rotated}'`);
    urls.sourceUrl = urlAs(source.url('shop'), 'migrator', rotated);
    await source.query(`select pg_terminate_backend(pid) from pg_stat_replication`, [], 'shop');
    await source.query(
      `insert into public.orders (token, customer, amount) values (gen_random_uuid(), 'after-rotation', 1)`,
      [],
      'shop',
    );
    await expect
      .poll(
        async () =>
          (
            await target.query<{ n: number }>(
              `select count(*)::int as n from public.orders where customer = 'after-rotation'`,
              [],
              'shop',
            )
          ).rows[0]?.n,
        { timeout: 20_000, interval: 200 },
      )
      .toBe(1);

    // Cutover: reverse replication connects to the target as the run's reverse role.
    await runSteps(ctx, cutoverInOrder(plane.cutoverSteps(entry)));
    expect(await handoffRoles(target)).toEqual(['handoff_rr1_shop_rev_repl']);
    await expect.poll(() => walsenders(target), { timeout: 10_000 }).toContain('handoff_rr1_shop_rev_repl');
    // The forward subscription is gone, and its role with it.
    expect(await handoffRoles(source)).toEqual([]);

    await runSteps(ctx, plane.finalizeSteps(entry));
    expect(await handoffRoles(target)).toEqual([]);
    expect(await handoffRoles(source)).toEqual([]);
    const roleEvents = events.filter(
      (e) => e.type === 'pg-replication-changed' && (e.data as { what: string }).what === 'role',
    );
    expect(
      roleEvents.map((e) => `${(e.data as { action: string }).action} ${(e.data as { name: string }).name}`),
    ).toEqual([
      'created handoff_rr1_shop_repl',
      'created handoff_rr1_shop_rev_repl', // before the forward one goes: reverse is set up before the fence
      'dropped handoff_rr1_shop_repl',
      'dropped handoff_rr1_shop_rev_repl',
    ]);
    expect(JSON.stringify(events)).not.toContain(rotated);
  });

  it('undo of replicate drops the run role', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 60_000, markerTimeoutMs: 20_000 });
    const entry = testPlan('shop').spec.data[0]!;
    await target.query(`truncate public.orders, public.items, public.counters`, [], 'shop');
    const { ctx } = makeHarness({
      runId: 'rr2',
      database: 'shop',
      sourceUrl: source.url('shop'),
      targetUrl: target.url('shop'),
    });
    const steps = plane.replicationSteps(entry);
    await runSteps(ctx, steps);
    expect(await handoffRoles(source)).toEqual(['handoff_rr2_shop_repl']);
    for (const step of [...steps].reverse()) await step.undo?.(ctx);
    expect(await handoffRoles(source)).toEqual([]);
  });
});
