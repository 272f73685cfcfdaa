/**
 * The cost of dirty tracking on the target: what each replicated row change pays for being recorded
 * (the apply worker fires the trigger for every row it applies, from the catch-up to the cutover).
 * On one PostgreSQL 18 server: inserts and key-keeping updates of a bigint-keyed table, untracked
 * (the baseline, measured in the same run), tracked by handoff's recording (`installDirtyTracking`),
 * and tracked by the earlier form kept here as a reference: one shared function for every table,
 * taking the key's expression as an argument and evaluating it with EXECUTE per row, under every
 * pinned setting. Reported per row, above the untracked write.
 */
import { connect } from '../src/data/postgres/connect.js';
import { installDirtyTracking, removeDirtyTracking } from '../src/data/postgres/dirty.js';
import { objectNames } from '../src/data/postgres/names.js';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';
import type { Benchmark, BenchResult } from './harness.js';

const ROWS = Number(process.env.DIRTY_BENCH_ROWS ?? 100_000);
const REPEAT = 3;
const names = objectNames('bench-dirty', 'bench');

/** The earlier recording function (before 2026-12-07): EXECUTE per row, every pinned setting applied per call. */
const legacyFunction = `
  create or replace function handoff.legacy_dirty_fn() returns trigger language plpgsql security definer
    set search_path = pg_catalog, pg_temp set TimeZone = 'UTC' set DateStyle = 'ISO, YMD'
    set IntervalStyle = 'postgres' set extra_float_digits = '3' set bytea_output = 'hex' as $fn$
  declare
    k text[];
  begin
    if tg_op in ('UPDATE', 'DELETE') then
      execute format('select array[%s]::text[]', tg_argv[0]) using old into k;
      insert into ${names.dirty} (tbl, key, seq) values (tg_argv[1], k, nextval('${names.dirtySeq}'))
        on conflict (tbl, key) do update set seq = excluded.seq;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
      execute format('select array[%s]::text[]', tg_argv[0]) using new into k;
      insert into ${names.dirty} (tbl, key, seq) values (tg_argv[1], k, nextval('${names.dirtySeq}'))
        on conflict (tbl, key) do update set seq = excluded.seq;
    end if;
    return null;
  end $fn$`;

type Form = 'untracked' | 'tracked' | 'legacy';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function measure(server: TestPostgres, form: Form): Promise<{ insertMs: number; updateMs: number }> {
  const client = await connect(server.url('bench'), { name: 'bench' });
  try {
    await client.query('drop table if exists public.items; create table public.items (id bigint primary key, v text)');
    if (form === 'tracked') await installDirtyTracking(client, names, [{ schema: 'public', name: 'items' }]);
    if (form === 'legacy') {
      await installDirtyTracking(client, names, []);
      await client.query(legacyFunction);
      await client.query(
        `create trigger legacy after insert or update or delete on public.items for each row
           execute function handoff.legacy_dirty_fn('($1)."id"::text', 'public.items')`,
      );
    }
    const timed = async (sql: string): Promise<number> => {
      const started = process.hrtime.bigint();
      await client.query(sql);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const insertMs = await timed(`insert into public.items select g, 'x' from generate_series(1, ${ROWS}) g`);
    const updateMs = await timed(`update public.items set v = 'y'`);
    if (form !== 'untracked') {
      const recorded = await client.query<{ n: number }>(`select count(*)::int as n from ${names.dirty}`);
      if (recorded.rows[0]?.n !== ROWS) throw new Error(`${form}: ${recorded.rows[0]?.n} keys recorded, not ${ROWS}`);
    }
    await client.query('drop table public.items');
    await client.query('drop function if exists handoff.legacy_dirty_fn()');
    await removeDirtyTracking(client, names);
    return { insertMs, updateMs };
  } finally {
    await client.end();
  }
}

export const dirtyBenchmark: Benchmark = {
  name: 'dirty',
  async run(): Promise<BenchResult> {
    const server = await startTestPostgres({ settings: { shared_buffers: '256MB' } });
    try {
      await server.createDatabase('bench');
      const runs: Record<Form, Array<{ insertMs: number; updateMs: number }>> = {
        untracked: [],
        tracked: [],
        legacy: [],
      };
      // Interleaved, so that a change in the machine's speed touches every form alike.
      for (let round = 0; round < REPEAT; round++)
        for (const form of ['untracked', 'tracked', 'legacy'] as const) runs[form].push(await measure(server, form));
      const med = (form: Form, what: 'insertMs' | 'updateMs'): number => median(runs[form].map((r) => r[what]));
      const perRowUs = (form: Form, what: 'insertMs' | 'updateMs'): number =>
        ((med(form, what) - med('untracked', what)) * 1000) / ROWS;
      const trackedInsert = perRowUs('tracked', 'insertMs');
      const trackedUpdate = perRowUs('tracked', 'updateMs');
      const legacyInsert = perRowUs('legacy', 'insertMs');
      const legacyUpdate = perRowUs('legacy', 'updateMs');
      return {
        benchmark: 'dirty',
        baseline: `the same ${ROWS.toLocaleString('en-US')} inserts and updates of a bigint-keyed table without tracking, and with the earlier recording function (EXECUTE per row)`,
        measurements: [
          { name: 'rows', value: ROWS, unit: 'rows' },
          { name: 'insert, untracked (median)', value: med('untracked', 'insertMs'), unit: 'ms' },
          { name: 'update, untracked (median)', value: med('untracked', 'updateMs'), unit: 'ms' },
          { name: 'insert, tracked (median)', value: med('tracked', 'insertMs'), unit: 'ms' },
          { name: 'update, tracked (median)', value: med('tracked', 'updateMs'), unit: 'ms' },
          { name: 'insert, earlier form (median)', value: med('legacy', 'insertMs'), unit: 'ms' },
          { name: 'update, earlier form (median)', value: med('legacy', 'updateMs'), unit: 'ms' },
          { name: 'tracking per row inserted', value: trackedInsert, unit: 'µs' },
          { name: 'tracking per row updated', value: trackedUpdate, unit: 'µs' },
          { name: 'earlier form per row inserted', value: legacyInsert, unit: 'µs' },
          { name: 'earlier form per row updated', value: legacyUpdate, unit: 'µs' },
        ],
        ratios: {
          'earlier form / tracking, per row inserted': legacyInsert / trackedInsert,
          'earlier form / tracking, per row updated': legacyUpdate / trackedUpdate,
        },
        targets: [
          {
            name: 'tracking costs less per row than the earlier form, inserts and updates',
            target: '> 1× both',
            met: legacyInsert / trackedInsert > 1 && legacyUpdate / trackedUpdate > 1,
          },
        ],
      };
    } finally {
      await server.close();
    }
  },
};
