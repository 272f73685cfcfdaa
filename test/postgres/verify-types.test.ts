/**
 * Verification across many column types and key kinds, between servers whose TimeZone and
 * DateStyle differ, 18 → 18 and 15 → 18: identical data is reported identical, and differences a
 * value hash alone would miss (numeric scale, json text) are still found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import type { VerifyReport } from '../../src/data/postgres/verify/types.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

/** Column order differs on purpose between the two layouts: verification must not care. */
const layouts = {
  plain: `
    create type mood as enum ('sad', 'ok', 'happy');
    create domain posint as int check (value > 0);
    create table kinds (
      id bigint primary key, label text, note varchar(20), amount numeric(12,4), big numeric, ratio float8,
      small real, doc jsonb, raw json, tags text[], nums int[], blob bytea, at timestamptz, day date,
      span interval, flag boolean, uid uuid, spot point, feeling mood, moods mood[], count posint)`,
  reordered: `
    create type filler as enum ('a', 'b', 'c', 'd', 'e');
    create type mood as enum ('sad', 'ok', 'happy');
    create domain posint as int check (value > 0);
    create table kinds (
      moods mood[], count posint, feeling mood, spot point, uid uuid, flag boolean, span interval, day date, at timestamptz, blob bytea, nums int[],
      tags text[], raw json, doc jsonb, small real, ratio float8, big numeric, amount numeric(12,4),
      note varchar(20), label text, id bigint primary key)`,
};

const data = `
  insert into kinds (id, label, note, amount, big, ratio, small, doc, raw, tags, nums, blob, at, day, span, flag, uid, spot, feeling, moods, count)
  select g,
         case when g % 7 = 0 then null when g % 11 = 0 then '' else 'label ' || g || ' Grüße 東京 🚀 ' || repeat('é', g % 4) end,
         case when g % 5 = 0 then null else 'n' || g end,
         case when g % 9 = 0 then null else (g * 1.2345)::numeric(12,4) end,
         case when g % 6 = 0 then null else (g::numeric / 8) end,
         case when g % 13 = 0 then null else g / 7.0::float8 end,
         (g / 3.0)::real,
         case when g % 8 = 0 then null else jsonb_build_object('g', g, 'nested', jsonb_build_object('list', jsonb_build_array(g, 'x', null, true)), 'ü', 'ñ') end,
         case when g % 10 = 0 then null else ('{"g": ' || g || ', "s": "' || repeat('x', g % 5) || '"}')::json end,
         case when g % 4 = 0 then null else array['a' || g, null, 'ünï'] end,
         array[g, g * 2, null],
         case when g % 3 = 0 then null else decode(md5(g::text), 'hex') end,
         '2024-01-01 00:00:00+00'::timestamptz + g * interval '37 minutes 13.123456 seconds',
         date '2024-01-01' + g,
         make_interval(days => g, secs => g * 1.5),
         case when g % 2 = 0 then null else g % 3 = 0 end,
         md5('u' || g)::uuid,
         point(g, g / 2.0),
         (array['sad', 'ok', 'happy']::mood[])[1 + g % 3],
         array['happy', 'sad']::mood[],
         g
    from generate_series(1, 600) g;

  create schema "Sales";
  create table "Sales"."Order Lines" (region text, order_no int, line smallint, qty numeric, primary key (region, order_no, line));
  insert into "Sales"."Order Lines"
  select (array['eu', 'us', 'ÄÖ', 'ap'])[1 + g % 4], g / 3, (g % 3)::smallint, g * 0.5 from generate_series(1, 900) g;

  create table text_keys (code text primary key, v int);
  insert into text_keys select 'k-' || g || repeat('ß', g % 3), g from generate_series(1, 400) g;

  create table uuid_keys (id uuid primary key, v jsonb);
  insert into uuid_keys select md5('k' || g)::uuid, jsonb_build_object('v', g) from generate_series(1, 400) g;

  create table no_key (a int, b text);
  insert into no_key select g % 50, 'x' || g from generate_series(1, 300) g;
`;

async function load(server: TestPostgres, database: string, layout: keyof typeof layouts): Promise<void> {
  await server.createDatabase(database);
  await server.query(layouts[layout], [], database);
  await server.query(data, [], database);
}

function summary(report: VerifyReport): Array<[string, number, boolean]> {
  return report.tables.map((table) => [table.table, table.sourceRows, table.identical]);
}

describe('verify across types and settings', () => {
  let tokyo: TestPostgres;
  let newYork: TestPostgres;
  let old15: TestPostgres;

  beforeAll(async () => {
    [tokyo, newYork, old15] = await startTestPostgresAll([
      {
        settings: {
          TimeZone: 'Asia/Tokyo',
          DateStyle: 'SQL, DMY',
          IntervalStyle: 'sql_standard',
          extra_float_digits: 0,
        },
      },
      {
        settings: { TimeZone: 'America/New_York', DateStyle: 'German, DMY', IntervalStyle: 'iso_8601' },
      },
      {
        version: 15,
        settings: { TimeZone: 'Pacific/Auckland', DateStyle: 'Postgres, MDY', bytea_output: 'escape' },
      },
    ]);
    await Promise.all([load(tokyo, 'app', 'plain'), load(newYork, 'app', 'reordered'), load(old15, 'app', 'plain')]);
  });

  afterAll(async () => {
    await Promise.all([tokyo?.close(), newYork?.close(), old15?.close()]);
  });

  it('reports identical data as identical between 18 servers with different TimeZone and DateStyle', async () => {
    const report = await verifyTables({ source: tokyo.url('app'), target: newYork.url('app'), chunkRows: 70 });
    expect(report.schemaDifferences).toEqual([]);
    expect(summary(report)).toEqual([
      ['"Sales"."Order Lines"', 900, true],
      ['public.kinds', 600, true],
      ['public.no_key', 300, true],
      ['public.text_keys', 400, true],
      ['public.uuid_keys', 400, true],
    ]);
    expect(report.identical).toBe(true);
    expect(report.rowsCompared).toBe(2600);
    const kinds = report.tables.find((table) => table.table === 'public.kinds');
    expect(kinds?.chunks).toBeGreaterThanOrEqual(8);
    expect(kinds?.chunkDetails.every((chunk) => chunk.sourceRows > 0 && chunk.sourceHash === chunk.targetHash)).toBe(
      true,
    );
    const noKey = report.tables.find((table) => table.table === 'public.no_key');
    expect(noKey?.method).toBe('whole-table');
    expect(noKey?.notes.join(' ')).toMatch(/no primary key/);
  });

  it('reports identical data as identical from PostgreSQL 15 to 18', async () => {
    expect(
      String(
        (await old15.query<{ server_version_num: string }>('show server_version_num')).rows[0]?.server_version_num,
      ),
    ).toMatch(/^15\d{4}$/);
    expect(
      String(
        (await newYork.query<{ server_version_num: string }>('show server_version_num')).rows[0]?.server_version_num,
      ),
    ).toMatch(/^18\d{4}$/);
    const report = await verifyTables({
      source: old15.url('app'),
      target: newYork.url('app'),
      chunkRows: 64,
      concurrency: 3,
    });
    expect(report.schemaDifferences).toEqual([]);
    expect(report.identical).toBe(true);
    expect(report.rowsCompared).toBe(2600);
    const lines = report.tables.find((table) => table.table === '"Sales"."Order Lines"');
    expect(lines?.primaryKey).toEqual(['region', 'order_no', 'line']);
    expect(lines?.chunkDetails[1]?.lower).toHaveLength(3);
  });

  it('finds what a value hash alone would miss: numeric scale, json text, interval units, and small changes of many types', async () => {
    await load(newYork, 'touched', 'reordered');
    await newYork.query(
      `update kinds set big = 2.50 where id = 20;
       update kinds set raw = '{"g":21, "s": "x"}' where id = 21;
       update kinds set ratio = ratio + 1e-12 where id = 22;
       update kinds set at = at + interval '1 microsecond' where id = 23;
       update kinds set label = 'label 24 Grüsse 東京 🚀 ' where id = 24;
       update kinds set nums = array[25, 50] where id = 25;
       update kinds set span = make_interval(hours => 26 * 24, secs => 39) where id = 26; -- equal as intervals, not as text
       update kinds set feeling = 'happy' where id = 27;`,
      [],
      'touched',
    );
    const report = await verifyTables({
      source: old15.url('app'),
      target: newYork.url('touched'),
      tables: [{ schema: 'public', name: 'kinds' }],
      chunkRows: 64,
    });
    const kinds = report.tables[0];
    expect(report.identical).toBe(false);
    expect(kinds?.changed).toEqual([['20'], ['21'], ['22'], ['23'], ['24'], ['25'], ['26'], ['27']]);
    expect(kinds?.changedColumns.map((entry) => [entry.key[0], entry.columns.join(',')])).toEqual([
      ['20', 'big'],
      ['21', 'raw'],
      ['22', 'ratio'],
      ['23', 'at'],
      ['24', 'label'],
      ['25', 'nums'],
      ['26', 'span'],
      ['27', 'feeling'],
    ]);
    expect(kinds?.missing).toEqual([]);
    expect(kinds?.extra).toEqual([]);
  });
});
