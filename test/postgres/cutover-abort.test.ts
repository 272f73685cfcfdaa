import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, CheckFailedError, TimeoutError } from '../../src/common/errors.js';
import { connect } from '../../src/data/postgres/connect.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { fenceSite, unfenceSite } from '../../src/data/postgres/fence.js';
import { objectNames } from '../../src/data/postgres/names.js';
import { createScaffold, dropScaffold } from '../../src/data/postgres/scaffold.js';
import { cutoverInOrder, type Step, type StepContext } from '../../src/data/data-plane.js';
import { countQueries } from '../support/count-queries.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { appUrl, leftovers } from './inspect.js';
import { makeHarness, runSteps, testPlan } from './step-harness.js';
import { APP_PASSWORD, SHOP_GRANTS, SHOP_SCHEMA } from './workload.js';

let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  // Fast table-sync retries on the target, so a failing copy shows its errors quickly.
  [source, target] = await startTestPostgresAll([{}, { settings: { wal_retrieve_retry_interval: 200 } }]);
  for (const server of [source, target]) await server.query(`create role app login password '${APP_PASSWORD}'`);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

async function freshPair(db: string): Promise<void> {
  for (const server of [source, target]) {
    await server.createDatabase(db);
    await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], db);
  }
  await source.query(
    `insert into public.orders (token, customer) select gen_random_uuid(), 'c' || g from generate_series(1, 100) g`,
    [],
    db,
  );
}

/** Privileges on the public tables and role settings in the database: what a fence must restore exactly. */
async function accessState(server: TestPostgres, db: string): Promise<string[]> {
  const r = await server.query<{ s: string }>(
    `select c.relname || ':' || coalesce(pg_get_userbyid(nullif(a.grantee, 0)), 'PUBLIC') || ':' || a.privilege_type || ':' || a.is_grantable as s
       from pg_class c cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
     union all
     select 'setting:' || setrole::regrole || ':' || array_to_string(setconfig, ',') from pg_db_role_setting
      where setdatabase = (select oid from pg_database where datname = current_database())
     order by 1`,
    [],
    db,
  );
  return r.rows.map((row) => row.s);
}

async function appInsert(server: TestPostgres, db: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: appUrl(server, db) });
  await client.connect();
  try {
    await client.query(`insert into public.counters values (gen_random_uuid()::text, 1)`);
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  } finally {
    await client.end();
  }
}

/** Runs steps until one fails; returns the error and the steps that may have acted (for undo). */
async function runUntilFailure(ctx: StepContext, steps: Step[]): Promise<{ error: unknown; acted: Step[] }> {
  const acted: Step[] = [];
  for (const step of steps) {
    acted.push(step);
    try {
      await step.run(ctx);
    } catch (error) {
      return { error, acted };
    }
  }
  return { error: null, acted };
}

describe('cutover abort and fences', () => {
  it('stops before the target opens when a dirty row differs, and undo restores the source exactly', async () => {
    await freshPair('abort1');
    await source.query(
      `grant insert on public.counters to public; alter role app in database abort1 set work_mem = '8MB'`,
      [],
      'abort1',
    );
    const plane = createPostgresDataPlane({ markerTimeoutMs: 20_000 });
    const entry = testPlan('abort1').spec.data[0]!;
    const { ctx } = makeHarness({
      runId: 'abort1',
      database: 'abort1',
      sourceUrl: source.url('abort1'),
      targetUrl: target.url('abort1'),
    });
    await runSteps(ctx, plane.replicationSteps(entry));
    // As the cutover found it (replication's own role holds SELECT on the source meanwhile).
    const before = await accessState(source, 'abort1');
    // Divergence on the target behind replication's back (a superuser, so the fence does not stop it).
    await target.query(`update public.orders set customer = 'tampered' where id = 42`, [], 'abort1');

    const { error, acted } = await runUntilFailure(ctx, cutoverInOrder(plane.cutoverSteps(entry)));
    expect(error).toBeInstanceOf(CheckFailedError);
    expect((error as CheckFailedError).message).toMatch(/public\.orders: 0 missing, 0 extra, 1 changed/);
    expect(acted.at(-1)?.name).toBe('pg-abort1-recheck-dirty');
    expect(await appInsert(source, 'abort1')).toBe('42501'); // fenced while stopped

    for (const step of [...acted].reverse()) await step.undo?.(ctx);
    expect(await accessState(source, 'abort1')).toEqual(before);
    expect(await appInsert(source, 'abort1')).toBeNull();
    expect(await appInsert(target, 'abort1')).toBe('42501'); // the target is still fenced
    // Forward replication is back and nothing of the reverse direction is left.
    await source.query(`update public.orders set customer = 'after-abort' where id = 7`, [], 'abort1');
    await expect
      .poll(
        async () =>
          (await target.query<{ c: string }>(`select customer as c from public.orders where id = 7`, [], 'abort1'))
            .rows[0]?.c,
        { timeout: 20_000 },
      )
      .toBe('after-abort');
    const objects = [...(await leftovers(source, 'abort1')), ...(await leftovers(target, 'abort1'))];
    expect(objects.filter((o) => o.includes('_rev'))).toEqual([]);
    expect(objects).toContain('subscription handoff_abort1_abort1');
  });

  it('fails the initial copy early when it keeps failing (a conflicting row on the target), and undo cleans up', async () => {
    await freshPair('dup1');
    await target.query(
      `insert into public.orders (id, token, customer) overriding system value values (5, gen_random_uuid(), 'in the way')`,
      [],
      'dup1',
    );
    const plane = createPostgresDataPlane({ copyTimeoutMs: 300_000 });
    // Native table sync retries a failing copy (the chunked copy refuses a non-empty target first: copy-chunked.test.ts).
    const entry = {
      ...testPlan('dup1').spec.data[0]!,
      copy: { method: 'table-sync' as const, deferIndexes: true, vacuum: true },
    };
    const { ctx } = makeHarness({
      runId: 'dup1',
      database: 'dup1',
      sourceUrl: source.url('dup1'),
      targetUrl: target.url('dup1'),
    });
    const { error, acted } = await runUntilFailure(ctx, plane.replicationSteps(entry));
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).message).toMatch(/initial copy keeps failing/);
    expect(acted.at(-1)?.name).toBe('pg-dup1-initial-copy');
    for (const step of [...acted].reverse()) await step.undo?.(ctx);
    const left = [...(await leftovers(source, 'dup1')), ...(await leftovers(target, 'dup1'))];
    expect(left.filter((o) => o.includes('dup1') || o === 'schema handoff' || /slot pg_\d+_sync/.test(o))).toEqual([]);
  });

  it("fails the chunked copy's paced catch-up early when replication keeps failing, and undo cleans up", async () => {
    await freshPair('dup2');
    const plane = createPostgresDataPlane({ copyTimeoutMs: 300_000 });
    const entry = testPlan('dup2').spec.data[0]!;
    expect(entry.copy.method).toBe('snapshot-chunks');
    const { ctx } = makeHarness({
      runId: 'dup2',
      database: 'dup2',
      sourceUrl: source.url('dup2'),
      targetUrl: target.url('dup2'),
    });
    const steps = plane.replicationSteps(entry);
    const copied = steps.findIndex((step) => step.name.endsWith('initial-copy')) + 1;
    const first = await runUntilFailure(ctx, steps.slice(0, copied));
    expect(first.error).toBeNull();
    // Written on the source after the copy (the slot's backlog), and already on the target: every
    // attempt to apply it fails on the key.
    for (const [server, customer] of [
      [source, 'late'],
      [target, 'in the way'],
    ] as const)
      await server.query(
        `insert into public.orders (id, token, customer) overriding system value values (100000, gen_random_uuid(), $1)`,
        [customer],
        'dup2',
      );
    const { error, acted } = await runUntilFailure(ctx, steps.slice(copied));
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as AdapterError).message).toMatch(/replication keeps failing on the target while it applies/);
    expect(acted.map((step) => step.name)).toEqual(['pg-dup2-build-indexes']);
    for (const step of [...first.acted, ...acted].reverse()) await step.undo?.(ctx);
    const left = [...(await leftovers(source, 'dup2')), ...(await leftovers(target, 'dup2'))];
    expect(left.filter((o) => o.includes('dup2') || o === 'schema handoff')).toEqual([]);
  });

  it('refuses to fence the source when the target is behind (lag check), changing nothing', async () => {
    await freshPair('lag1');
    const plane = createPostgresDataPlane({ markerTimeoutMs: 20_000, maxLagToStartMs: 500 });
    const entry = testPlan('lag1').spec.data[0]!;
    const { ctx } = makeHarness({
      runId: 'lag1',
      database: 'lag1',
      sourceUrl: source.url('lag1'),
      targetUrl: target.url('lag1'),
    });
    await runSteps(ctx, plane.replicationSteps(entry));
    const before = await accessState(source, 'lag1'); // as the cutover found it
    await target.query(`alter subscription handoff_lag1_lag1 disable`, [], 'lag1');
    const { error, acted } = await runUntilFailure(ctx, cutoverInOrder(plane.cutoverSteps(entry)));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(acted.map((s) => s.name)).toEqual(['pg-lag1-lag-check']);
    expect(await accessState(source, 'lag1')).toEqual(before);
    expect(await appInsert(source, 'lag1')).toBeNull();
  });

  it('read-only fences end the role sessions, refuse its writes, and restore its settings exactly', async () => {
    await freshPair('ro1');
    const names = objectNames('ro1', 'ro1');
    const client = await connect(source.url('ro1'), { name: 'source' });
    const idle = new pg.Client({ connectionString: appUrl(source, 'ro1') });
    idle.on('error', () => undefined);
    await idle.connect();
    try {
      const before = await accessState(source, 'ro1');
      await createScaffold(client, names);
      const tables = [{ schema: 'public', name: 'counters' }];
      const fence = await fenceSite(client, names, 'source', tables, {
        method: 'read-only',
        roles: ['app'],
        drainMs: 2000,
        marker: 'forward',
      });
      expect(fence.terminated).toBe(1);
      expect(fence.record.roleSettings).toEqual([{ role: 'app', previous: null }]);
      await expect(idle.query('select 1')).rejects.toThrow();
      expect(await appInsert(source, 'ro1')).toBe('25006');
      await fenceSite(client, names, 'source', tables, {
        method: 'read-only',
        roles: ['app'],
        drainMs: 2000,
        marker: 'forward',
      }); // replay
      await expect(dropScaffold(client, names)).rejects.toThrow(/still records a fence/);
      expect((await unfenceSite(client, names, 'source'))?.record.method).toBe('read-only');
      expect(await unfenceSite(client, names, 'source')).toBeNull(); // replay
      await dropScaffold(client, names);
      expect(await accessState(source, 'ro1')).toEqual(before);
      // A revoke fence that would refuse nothing (only superusers can write this table) is refused, recording nothing.
      await client.query(`create table public.admin_only (id int primary key)`);
      await createScaffold(client, names);
      const adminOnly = [{ schema: 'public', name: 'admin_only' }];
      await expect(
        fenceSite(client, names, 'source', adminOnly, {
          method: 'revoke',
          drainMs: 2000,
          requireEffect: true,
          marker: null,
        }),
      ).rejects.toThrow(/would refuse nothing/);
      expect(await unfenceSite(client, names, 'source')).toBeNull();
      await dropScaffold(client, names);
      expect(await appInsert(source, 'ro1')).toBeNull();
    } finally {
      await idle.end().catch(() => undefined);
      await client.end();
    }
  });

  it('revoke fences take and give back every grant in a fixed number of round trips, exactly', async () => {
    await freshPair('rv1');
    const names = objectNames('rv1', 'rv1');
    const client = await connect(source.url('rv1'), { name: 'source' });
    try {
      // More grants than the shop's: a second role, a grant option, PUBLIC, an odd table name.
      await client.query(`create role "app two" nologin; create table public."Odd t" (id int primary key);
        grant insert, update on public.orders to "app two" with grant option;
        grant insert on public."Odd t" to public; grant delete, truncate on public."Odd t" to app`);
      const before = await accessState(source, 'rv1');
      await createScaffold(client, names);
      const tables = (
        await client.query<{ name: string }>(
          `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`,
        )
      ).rows.map((row) => ({ schema: 'public', name: row.name }));
      const trips = { n: 0 };
      const fence = await fenceSite(countQueries(client, trips), names, 'source', tables, {
        method: 'revoke',
        drainMs: 2000,
        requireEffect: true,
        marker: 'forward',
      });
      expect(fence.record.grants.length).toBeGreaterThan(10);
      // Two messages: begin, lock, record?, grants; then every revoke, the record, commit, the
      // marker (no writer left) and the writers (it was 7 round trips, and 10 before that).
      expect(trips.n).toBe(2);
      expect(fence.marker).toBeGreaterThan(0);
      expect(await appInsert(source, 'rv1')).toBe('42501');
      expect(await accessState(source, 'rv1')).not.toEqual(before);
      trips.n = 0;
      expect((await unfenceSite(countQueries(client, trips), names, 'source'))?.record.grants).toEqual(
        fence.record.grants,
      );
      // Two messages: begin, lock, record, which still exist; then every grant, the delete and commit (it was 6).
      expect(trips.n).toBe(2);
      expect(await accessState(source, 'rv1')).toEqual(before);
      expect(await appInsert(source, 'rv1')).toBeNull();
      // A record changed by hand to name a privilege handoff never revokes is refused, changing nothing.
      await fenceSite(client, names, 'source', tables, { method: 'revoke', drainMs: 2000, marker: null });
      await client.query(
        `update ${names.fence} set record = jsonb_set(record, '{grants,0,privilege}', '"SELECT; drop table orders"')`,
      );
      await expect(unfenceSite(client, names, 'source')).rejects.toThrow(/names a privilege handoff never revokes/);
      expect(await appInsert(source, 'rv1')).toBe('42501');
    } finally {
      await client.end();
    }
  });

  it('unfences nothing, and fails on nothing, where there is no scaffold or no fence table', async () => {
    await freshPair('nofence1');
    const names = objectNames('nofence1', 'nofence1');
    const client = await connect(source.url('nofence1'), { name: 'source' });
    try {
      await client.query('drop schema if exists handoff cascade');
      expect(await unfenceSite(client, names, 'source')).toBeNull(); // no schema (3F000)
      await client.query('create schema handoff');
      expect(await unfenceSite(client, names, 'source')).toBeNull(); // no table (42P01)
      // The session is usable afterwards (the failed transaction was rolled back).
      expect((await client.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await client.end();
    }
  });

  it('drains only the writers of the moment: an open write is waited for (or ended after the bound), a maintenance lock is not', async () => {
    await freshPair('drain1');
    const names = objectNames('drain1', 'drain1');
    const client = await connect(source.url('drain1'), { name: 'source' });
    const app = (): pg.Client => {
      const c = new pg.Client({ connectionString: appUrl(source, 'drain1') });
      c.on('error', () => undefined);
      return c;
    };
    const writer = app();
    const stuck = app();
    // Autovacuum's lock mode, held by a superuser session: any table lock that waits for writers waits for it too.
    const maintenance = new pg.Client({ connectionString: source.url('drain1') });
    await Promise.all([writer.connect(), stuck.connect(), maintenance.connect()]);
    try {
      await createScaffold(client, names);
      const tables = [{ schema: 'public', name: 'counters' }];
      await maintenance.query('begin');
      await maintenance.query('lock table public.counters in share update exclusive mode');
      await writer.query('begin');
      await writer.query(`insert into public.counters values ('in-flight', 1)`);
      let commit: Promise<unknown> | null = null;
      const started = Date.now();
      setTimeout(() => (commit = writer.query('commit')), 300);
      const fence = await fenceSite(client, names, 'source', tables, {
        method: 'revoke',
        roles: ['app'],
        drainMs: 5000,
        marker: 'forward',
      });
      // Waited for the open write (its commit, sent 300 ms in, precedes the marker), ended nothing.
      // Timed on this side: the writer's own answer may be read after the fence's on a loaded machine.
      const fencedMs = Date.now() - started;
      expect(commit).not.toBeNull();
      await commit;
      expect(fencedMs).toBeGreaterThanOrEqual(295);
      expect(fence.terminated).toBe(0);
      expect(fence.marker).toBeGreaterThan(0);
      const written = await source.query(`select 1 from public.counters where name = 'in-flight'`, [], 'drain1');
      expect(written.rowCount).toBe(1);
      // The maintenance session was neither waited for nor ended.
      expect((await maintenance.query<{ ok: number }>('select 1 as ok')).rows[0]?.ok).toBe(1);
      await maintenance.query('commit');
      expect(await appInsert(source, 'drain1')).toBe('42501');
      await unfenceSite(client, names, 'source');

      // A write still open after the bound is ended (it was never acknowledged).
      await stuck.query('begin');
      await stuck.query(`insert into public.counters values ('stuck', 1)`);
      const second = await fenceSite(client, names, 'source', tables, {
        method: 'revoke',
        roles: ['app'],
        drainMs: 200,
        marker: 'forward',
      });
      expect(second.terminated).toBe(1);
      await expect(stuck.query('select 1')).rejects.toThrow();
      const ended = await source.query(`select 1 from public.counters where name = 'stuck'`, [], 'drain1');
      expect(ended.rowCount).toBe(0);
      await unfenceSite(client, names, 'source');
      await dropScaffold(client, names);
    } finally {
      await Promise.all([writer, stuck, maintenance].map((c) => c.end().catch(() => undefined)));
      await client.end();
    }
  }, 60_000);
});
