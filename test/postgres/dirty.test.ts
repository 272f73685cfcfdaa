import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect } from '../../src/data/postgres/connect.js';
import {
  clearDirty,
  dirtyKeys,
  installDirtyTracking,
  pauseDirtyTracking,
  removeDirtyTracking,
  resumeDirtyTracking,
} from '../../src/data/postgres/dirty.js';
import { objectNames } from '../../src/data/postgres/names.js';
import { recheckKeys as recheckDirtyKeys } from '../../src/data/postgres/verify/recheck-keys.js';
import { countQueries } from '../support/count-queries.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

let a: TestPostgres;
let b: TestPostgres;
const names = objectNames('dirty1', 'app');
const tables = [
  { schema: 'public', name: 'lines' },
  { schema: 'public', name: 'events' },
  { schema: 'public', name: 'slots' },
];
const schema = `
  create table public.lines (order_id bigint, region text, at timestamptz, qty int, primary key (order_id, region));
  create table public.events (id uuid primary key, body jsonb);
  create table public.slots (at timestamptz primary key, note text);
`;

beforeAll(async () => {
  [a, b] = await startTestPostgresAll([{}, { settings: { TimeZone: 'America/New_York', DateStyle: 'SQL, DMY' } }]);
  for (const s of [a, b]) {
    await s.createDatabase('app');
    await s.query(schema, [], 'app');
  }
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

/** Removes the tracking and checks that nothing of it is left: triggers, recording functions, the schema. */
async function removeAndExpectNothingLeft(client: pg.Client): Promise<void> {
  await removeDirtyTracking(client, names);
  const left = await b.query(
    `select 1 from pg_trigger where tgname like 'handoff_dirty1%'
     union all select 1 from pg_proc where proname like 'handoff_dirty1%'
     union all select 1 from pg_namespace where nspname = 'handoff'`,
    [],
    'app',
  );
  expect(left.rowCount).toBe(0);
}

describe('dirty tracking', () => {
  it('records changed keys (composite, pinned text form), keeps keys changed after a read, and marks TRUNCATE as whole-table', async () => {
    const client = await connect(b.url('app'), { name: 'target' });
    try {
      await installDirtyTracking(client, names, tables);
      await installDirtyTracking(client, names, tables); // idempotent
      // Changes made by a session with other settings (like the apply worker's) still use the pinned text form.
      await b.query(
        `insert into public.lines values (1, 'eu', '2026-01-02 03:04:05+00', 1), (2, 'us', '2026-01-02 03:04:05+00', 1);
         update public.lines set qty = 2 where order_id = 1;
         delete from public.lines where order_id = 2;`,
        [],
        'app',
      );
      await b.query(`insert into public.slots values ('2026-01-02 03:04:05.5+00', 'x')`, [], 'app');
      const first = await dirtyKeys(client, names);
      expect(first.tables.get('public.slots')).toEqual([['2026-01-02 03:04:05.5+00']]);
      expect(first.tables.get('public.lines')).toEqual([
        ['1', 'eu'],
        ['2', 'us'],
      ]);
      // Key 1 changes again after the read: clearing up to the read's watermark must keep it.
      await b.query(`update public.lines set qty = 3 where order_id = 1`, [], 'app');
      expect(await clearDirty(client, names, first.watermark)).toBe(2);
      const second = await dirtyKeys(client, names);
      expect(second.tables.get('public.lines')).toEqual([['1', 'eu']]);
      expect(second.tables.has('public.slots')).toBe(false);
      await b.query(`truncate public.events`, [], 'app');
      expect((await dirtyKeys(client, names)).tables.get('public.events')).toBe('all');
      // Fires for the apply worker too: enabled ALWAYS.
      const modes = await b.query<{ tgenabled: string }>(
        `select tgenabled::text from pg_trigger where tgname like 'handoff_dirty1%'`,
        [],
        'app',
      );
      expect(modes.rows.map((r) => r.tgenabled)).toEqual(['A', 'A', 'A', 'A', 'A', 'A']);
      await removeAndExpectNothingLeft(client);
    } finally {
      await client.end();
    }
  });

  it('pauses recording without waiting for the open transactions on the tables, in sessions that already recorded too, and resumes it', async () => {
    const client = await connect(b.url('app'), { name: 'target' });
    // The service's session: it has run the trigger (its cached function must not keep recording).
    const service = await connect(b.url('app'), { name: 'service' });
    try {
      await b.query('truncate public.slots', [], 'app');
      await installDirtyTracking(client, names, tables);
      await clearDirty(client, names, Number.MAX_SAFE_INTEGER);
      await service.query(`insert into public.slots values ('2026-02-01 00:00:00+00', 'before')`);
      // An open transaction holding a write lock on a tracked table (dropping or disabling its
      // trigger would wait for it): pausing must not.
      await service.query('begin');
      await service.query(`insert into public.slots values ('2026-02-01 00:00:01+00', 'open')`);
      await client.query(`set statement_timeout = '3s'`);
      await pauseDirtyTracking(client, names);
      await pauseDirtyTracking(client, names); // idempotent
      await service.query('commit');
      await service.query(`insert into public.slots values ('2026-02-01 00:00:02+00', 'paused')`);
      await b.query(`update public.lines set qty = qty + 1`, [], 'app');
      const paused = await dirtyKeys(client, names);
      // The open transaction's insert ran the trigger before the pause; nothing after it is recorded.
      expect(paused.tables.get('public.slots')).toEqual([['2026-02-01 00:00:00+00'], ['2026-02-01 00:00:01+00']]);
      expect(paused.tables.has('public.lines')).toBe(false);
      // The cutover's form: forget the keys proven equal and pause, in one round trip.
      const trips = { n: 0 };
      await pauseDirtyTracking(countQueries(client, trips), names, { clearThrough: paused.watermark });
      expect(trips.n).toBe(1);
      expect((await dirtyKeys(client, names)).tables.size).toBe(0);
      await expect(pauseDirtyTracking(client, names, { clearThrough: 1.5 })).rejects.toThrow(/must be an integer/);
      await resumeDirtyTracking(client, names);
      await service.query(`insert into public.slots values ('2026-02-01 00:00:03+00', 'resumed')`);
      const resumed = await dirtyKeys(client, names);
      expect(resumed.tables.get('public.slots')).toContainEqual(['2026-02-01 00:00:03+00']);
      expect(resumed.tables.get('public.slots')).not.toContainEqual(['2026-02-01 00:00:02+00']);
      await removeDirtyTracking(client, names);
    } finally {
      await Promise.all([client.end(), service.end()]);
    }
  });

  it('clears proven keys without waiting for a transaction recording keys, so the apply worker and a clear never deadlock', async () => {
    const client = await connect(b.url('app'), { name: 'target' });
    // The apply worker's part: one transaction changing two rows, which records their keys in turn.
    const apply = await connect(b.url('app'), { name: 'apply' });
    try {
      await b.query('truncate public.lines', [], 'app');
      await installDirtyTracking(client, names, tables);
      await clearDirty(client, names, Number.MAX_SAFE_INTEGER);
      // Two keys recorded, (2, us) first in the dirty table's order, then (1, eu).
      await b.query(`insert into public.lines values (2, 'us', now(), 1)`, [], 'app');
      await b.query(`insert into public.lines values (1, 'eu', now(), 1)`, [], 'app');
      const proven = await dirtyKeys(client, names);
      expect(proven.tables.get('public.lines')).toHaveLength(2);
      // The apply worker records (1, eu) again and holds its row...
      await apply.query('begin');
      await apply.query(`update public.lines set qty = 2 where order_id = 1`);
      // ...while verification clears what it proved: a delete in table order took (2, us) and
      // waited for (1, eu); the apply worker's next change waited for (2, us): a deadlock.
      await client.query(`set statement_timeout = '5s'`);
      const cleared = clearDirty(client, names, proven.watermark);
      const outcome = await Promise.race([
        cleared.then((n) => ({ cleared: n })),
        new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 500)),
      ]);
      // Skipped, not waited for: (1, eu) is being recorded again and stays dirty.
      expect(outcome).toEqual({ cleared: 1 });
      await apply.query(`update public.lines set qty = 2 where order_id = 2`);
      await apply.query('commit');
      const after = await dirtyKeys(client, names);
      expect(after.tables.get('public.lines')).toEqual([
        ['1', 'eu'],
        ['2', 'us'],
      ]);
      expect(after.watermark).toBeGreaterThan(proven.watermark);
    } finally {
      await apply.query('rollback').catch(() => undefined);
      await removeDirtyTracking(client, names);
      await b.query('truncate public.lines', [], 'app');
      await Promise.all([client.end(), apply.end()]);
    }
  });

  it('records through one function per table: settings pinned only for keys whose text form depends on them, an update that keeps its key once, a moved key twice', async () => {
    const client = await connect(b.url('app'), { name: 'target' });
    try {
      await b.query('truncate public.lines, public.events, public.slots', [], 'app');
      // A key type with a modifier (varchar(8)) is still one whose text form no setting changes.
      await b.query('create table public.codes (code varchar(8) primary key)', [], 'app');
      await installDirtyTracking(client, names, [...tables, { schema: 'public', name: 'codes' }]);
      await clearDirty(client, names, Number.MAX_SAFE_INTEGER);
      const functions = await b.query<{ tbl: string; fn: string; config: string[] }>(
        `select t.tgrelid::regclass::text as tbl, t.tgfoid::regproc::text as fn, p.proconfig as config
           from pg_trigger t join pg_proc p on p.oid = t.tgfoid
          where t.tgname = $1 order by 1`,
        [names.dirtyTrigger],
        'app',
      );
      const byTable = new Map(functions.rows.map((r) => [r.tbl, r]));
      expect(new Set(functions.rows.map((r) => r.fn)).size).toBe(4);
      for (const r of functions.rows) expect(r.fn).toMatch(/^handoff\.handoff_dirty1_app_dirty_fn_[0-9a-f]{8}$/);
      // bigint and text, uuid: no setting changes their text form; timestamptz: TimeZone and DateStyle do.
      expect(byTable.get('lines')?.config).toEqual(['search_path=pg_catalog, pg_temp']);
      expect(byTable.get('events')?.config).toEqual(['search_path=pg_catalog, pg_temp']);
      expect(byTable.get('codes')?.config).toEqual(['search_path=pg_catalog, pg_temp']);
      expect(byTable.get('slots')?.config).toEqual(expect.arrayContaining(['TimeZone=UTC', 'DateStyle=ISO, YMD']));
      const seq = async (): Promise<number> =>
        Number((await client.query<{ n: string }>(`select last_value::text as n from ${names.dirtySeq}`)).rows[0]?.n);
      await b.query(`insert into public.lines values (3, 'eu', now(), 1)`, [], 'app');
      const afterInsert = await seq();
      await b.query(`update public.lines set qty = 5 where order_id = 3`, [], 'app');
      expect(await seq()).toBe(afterInsert + 1);
      await b.query(`update public.lines set order_id = 4 where order_id = 3`, [], 'app');
      expect(await seq()).toBe(afterInsert + 3);
      expect((await dirtyKeys(client, names)).tables.get('public.lines')).toEqual([
        ['3', 'eu'],
        ['4', 'eu'],
      ]);
      // Installing again replaces the functions and keeps the triggers (no lock on the tables).
      const before = await b.query(
        `select oid::int from pg_trigger where tgname = $1 order by 1`,
        [names.dirtyTrigger],
        'app',
      );
      await installDirtyTracking(client, names, tables);
      const again = await b.query(
        `select oid::int from pg_trigger where tgname = $1 order by 1`,
        [names.dirtyTrigger],
        'app',
      );
      expect(again.rows).toEqual(before.rows);
      await removeAndExpectNothingLeft(client);
    } finally {
      await client.end();
    }
  });

  it("resumes a run whose triggers call the earlier shared function: the triggers move to the tables' own functions, and removal drops it (and no other run's function)", async () => {
    const client = await connect(b.url('app'), { name: 'target' });
    try {
      await b.query('truncate public.lines', [], 'app');
      await installDirtyTracking(client, names, tables);
      // The earlier form: one function for every table, the key's expression as an argument.
      const legacy = `handoff.${names.dirtyFunctionPrefix}`;
      await b.query(
        `create function ${legacy}() returns trigger language plpgsql as $fn$ begin return null; end $fn$;
         drop trigger ${names.dirtyTrigger} on public.lines;
         create trigger ${names.dirtyTrigger} after insert or update or delete on public.lines
           for each row execute function ${legacy}('($1)."order_id"::text, ($1)."region"::text', 'public.lines');
         alter table public.lines enable always trigger ${names.dirtyTrigger};`,
        [],
        'app',
      );
      await clearDirty(client, names, Number.MAX_SAFE_INTEGER);
      await resumeDirtyTracking(client, names);
      await b.query(`insert into public.lines values (5, 'us', now(), 1)`, [], 'app');
      expect((await dirtyKeys(client, names)).tables.get('public.lines')).toEqual([['5', 'us']]);
      // Another run's function whose name begins with this run's prefix: neither paused nor removed.
      const other = `handoff.${names.dirtyFunctionPrefix}_x_dirty_fn_0123abcd`;
      await b.query(
        `create function ${other}() returns trigger language plpgsql as $fn$ begin raise notice 'other'; return null; end $fn$`,
        [],
        'app',
      );
      await pauseDirtyTracking(client, names);
      await removeDirtyTracking(client, names);
      const kept = await b.query<{ src: string }>(
        `select prosrc as src from pg_proc where oid = $1::regproc`,
        [other],
        'app',
      );
      expect(kept.rows[0]?.src).toContain(`raise notice 'other'`);
      await b.query(`drop function ${other}()`, [], 'app');
      await removeAndExpectNothingLeft(client);
    } finally {
      await client.end();
    }
  });

  it('re-checks dirty keys and reports missing, extra and changed rows exactly', async () => {
    for (const s of [a, b])
      await s.query(
        `truncate public.lines; insert into public.lines select g, 'eu', '2026-01-01 00:00:00+00', g from generate_series(1, 50) g;`,
        [],
        'app',
      );
    await b.query(
      `delete from public.lines where order_id = 7;
       update public.lines set at = at + interval '1 second' where order_id = 8;
       insert into public.lines values (99, 'eu', now(), 1);`,
      [],
      'app',
    );
    const [source, target] = await Promise.all([
      connect(a.url('app'), { name: 'source' }),
      connect(b.url('app'), { name: 'target' }),
    ]);
    try {
      const keys = [
        ['7', 'eu'],
        ['8', 'eu'],
        ['9', 'eu'],
        ['99', 'eu'],
      ];
      const diff = await recheckDirtyKeys({ source, target, table: { schema: 'public', name: 'lines' }, keys });
      expect(diff).toEqual({
        table: 'public.lines',
        missing: [['7', 'eu']],
        extra: [['99', 'eu']],
        changed: [['8', 'eu']],
        wholeTable: false,
      });
      const whole = await recheckDirtyKeys({ source, target, table: { schema: 'public', name: 'lines' }, keys: 'all' });
      expect(whole.changed).toHaveLength(1);
      const clean = await recheckDirtyKeys({
        source,
        target,
        table: { schema: 'public', name: 'lines' },
        keys: [['9', 'eu']],
      });
      expect(clean.missing.length + clean.extra.length + clean.changed.length).toBe(0);
    } finally {
      await Promise.all([source.end(), target.end()]);
    }
  });
});
