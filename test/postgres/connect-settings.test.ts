/**
 * The session `connect()` opens: pinned settings, and handoff's own commits flushed locally where
 * the server commits asynchronously (a marker must not wait for the WAL writer), never lowered.
 * Sessions for key lookups (the cutover's steps, the settling re-checks) plan without parallel workers.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/data/data-plane.js';
import { connect } from '../../src/data/postgres/connect.js';
import { pgEnv } from '../../src/data/postgres/data-plane.js';
import { createSessionPool } from '../../src/data/postgres/session.js';
import { withOwnSessions } from '../../src/data/postgres/verify-step.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startTestPostgres({ settings: { synchronous_commit: 'off' } });
  for (const db of ['app', 'strict', 'standby']) await server.createDatabase(db);
  await server.query(`alter database strict set synchronous_commit = on`);
  await server.query(`alter database standby set synchronous_commit = remote_apply`);
  // A table the planner reads with parallel workers whenever it may (no start-up cost for them).
  await server.createDatabase('lookups');
  await server.query(
    `create table events (order_id bigint, seq int, kind text, primary key (order_id, seq));
     insert into events select g / 2, g % 2, 'created' from generate_series(0, 199999) g;
     analyze events`,
    undefined,
    'lookups',
  );
  await server.query(
    `alter database lookups set parallel_setup_cost = 0; alter database lookups set parallel_tuple_cost = 0;
     alter database lookups set min_parallel_table_scan_size = 0; alter database lookups set min_parallel_index_scan_size = 0`,
  );
});
afterAll(async () => {
  await server?.close();
});

async function settingsOf(database: string): Promise<Record<string, string>> {
  const client = await connect(server.url(database), { name: 'source' });
  try {
    const r = await client.query<{ name: string; setting: string }>(
      `select name, current_setting(name) as setting from unnest(array['synchronous_commit', 'TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'bytea_output']) name`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.name, row.setting]));
  } finally {
    await client.end();
  }
}

describe('connect', () => {
  it('pins the session settings in one statement', async () => {
    expect(await settingsOf('strict')).toEqual({
      synchronous_commit: 'on',
      TimeZone: 'UTC',
      DateStyle: 'ISO, YMD',
      IntervalStyle: 'postgres',
      extra_float_digits: '3',
      bytea_output: 'hex',
    });
  });

  it("flushes handoff's own commits locally where the server commits asynchronously, and never lowers the setting", async () => {
    expect((await settingsOf('app')).synchronous_commit).toBe('local');
    expect((await settingsOf('strict')).synchronous_commit).toBe('on');
    expect((await settingsOf('standby')).synchronous_commit).toBe('remote_apply');
  });

  // The cutover's re-check of dirty keys has this shape (range-ops.ts rowHashesForTables): one arm
  // per table, in one statement; the planner gives a union of them parallel workers (Parallel Append).
  const arm = (t: number) =>
    `(select ${t} as t, array[order_id::text, seq::text] as k, md5(e::text) as h from events e
      where (order_id, seq) in (select x0::bigint, x1::int from unnest($${2 * t + 1}::text[], $${2 * t + 2}::text[]) as u(x0, x1)))`;
  const RECHECK = `explain ${arm(0)} union all ${arm(1)}`;
  const ids = Array.from({ length: 400 }, (_, i) => String(i * 200));
  const keys = [ids, ids.map(() => '1'), ids, ids.map(() => '0')];

  async function planOf(client: pg.ClientBase): Promise<{ plan: string; workers: string }> {
    const plan = (await client.query<{ 'QUERY PLAN': string }>(RECHECK, keys)).rows.map((r) => r['QUERY PLAN']);
    const workers = await client.query<{ w: string }>(`select current_setting('max_parallel_workers_per_gather') as w`);
    return { plan: plan.join('\n'), workers: workers.rows[0]!.w };
  }

  it("plans a serial session's key lookups without parallel workers, where another session would start them", async () => {
    const plain = await connect(server.url('lookups'), { name: 'target' });
    const serial = await connect(server.url('lookups'), { name: 'target', serial: true });
    try {
      expect((await planOf(plain)).plan).toContain('Gather');
      const planned = await planOf(serial);
      expect(planned.plan).not.toContain('Gather');
      expect(planned.plan).toContain('Index');
      expect(planned.workers).toBe('0');
      // The pinned settings are still set in the same statement.
      expect((await serial.query(`select current_setting('TimeZone') as tz`)).rows[0]).toEqual({ tz: 'UTC' });
    } finally {
      await Promise.all([plain.end(), serial.end()]);
    }
  });

  it("opens serial sessions for the steps (the cutover's re-check under the hold) and for the settling re-checks", async () => {
    const env = pgEnv({ database: 'lookups', tables: ['public.*'] } as Parameters<typeof pgEnv>[0], {});
    const ctx = {
      runId: 'run-1',
      stage: 'cutover',
      secrets: { databaseUrl: (_site: string, database: string) => server.url(database) },
    } as unknown as StepContext;
    const pool = createSessionPool();
    try {
      const step = await pool.acquire(ctx, env, 'target');
      expect(await planOf(step)).toMatchObject({ workers: '0' });
      expect((await planOf(step)).plan).not.toContain('Gather');
      pool.release('target', step, false);
    } finally {
      await pool.close();
    }
    const own = await withOwnSessions(ctx, env, 'handoff-verify', async (source, target) => [
      await planOf(source),
      await planOf(target),
    ]);
    for (const planned of own) {
      expect(planned.workers).toBe('0');
      expect(planned.plan).not.toContain('Gather');
    }
  });
});
