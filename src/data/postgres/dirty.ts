/**
 * Dirty tracking on the target: a trigger on every replicated table, enabled ALWAYS so it fires for
 * changes the apply worker makes, records each changed primary key in `handoff.<run>_dirty` with a
 * growing number. A verification pass reads the keys with a watermark and, once they are proven
 * equal, clears up to that watermark; a key changed again meanwhile gets a higher number and stays.
 * At cutover the final check re-compares only these keys: time proportional to what changed.
 *
 * Keys are arrays of the key columns' text forms under handoff's pinned settings (the same form the
 * verification module reports). A TRUNCATE, or a table without a primary key, records the empty key
 * `{}`, meaning "compare the whole table".
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { InternalError } from '../../common/errors.js';
import { PINNED_SETTINGS, formatTable, quoteTable, type TableName } from './connect.js';
import { HANDOFF_SCHEMA, describeColumns, describeRelations } from './catalog.js';
import { dropSchemaIfEmpty } from './scaffold.js';
import type { ObjectNames } from './names.js';

function functionSettings(): string {
  const pinned = Object.entries(PINNED_SETTINGS)
    .filter(([name]) => name !== 'client_encoding' && name !== 'standard_conforming_strings')
    .map(([name, value]) => `set ${name} = ${pg.escapeLiteral(value)}`);
  return [SEARCH_PATH, ...pinned].join(' ');
}

/** Every recording function runs with this search path (it is security definer). */
const SEARCH_PATH = 'set search_path = pg_catalog, pg_temp';

/**
 * Key types whose text form no session setting changes (integers, numeric, text, uuid, boolean):
 * a table keyed only by these records without pinning settings on each call. Any other type
 * (timestamps under TimeZone and DateStyle, floats under extra_float_digits, bytea, domains, ...)
 * keeps the pinned settings: applying them is a GUC change per call, measured at about a tenth of
 * the recording's cost.
 */
const SETTING_FREE_TYPES = new Set([
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'text',
  'character varying',
  'character',
  'uuid',
  'boolean',
  'oid',
  'name',
]);

/** The tracked table's own recording function (schema-qualified, quoted; at most 58 characters). */
function tableFunction(names: ObjectNames, table: TableName): string {
  const hash = createHash('sha256').update(formatTable(table)).digest('hex').slice(0, 8);
  return `${pg.escapeIdentifier(HANDOFF_SCHEMA)}.${pg.escapeIdentifier(`${names.dirtyFunctionPrefix}_${hash}`)}`;
}

/**
 * This run's recording functions and nothing else (a regular expression on the name: the base is
 * lower-case letters, digits and underscores): `<prefix>_<hash>`, and the earlier form's one shared
 * `<prefix>`, which a run begun before per-table functions still has.
 */
function functionNamePattern(names: ObjectNames): string {
  return `^${names.dirtyFunctionPrefix}(_[0-9a-f]{8})?$`;
}

interface TrackedKey {
  table: TableName;
  /** Primary key columns with their types (format_type, modifiers left out); empty: no primary key. */
  columns: Array<{ name: string; type: string }>;
}

/** Each table's primary key with its columns' types (from the catalog module's descriptions). */
async function describeKeys(target: pg.Client, tables: readonly TableName[]): Promise<TrackedKey[]> {
  const relations = await describeRelations(target, tables);
  const columns = await describeColumns(target, tables);
  const keys: TrackedKey[] = [];
  for (const table of tables) {
    const rel = relations.get(formatTable(table));
    if (!rel) continue;
    const types = new Map((columns.get(formatTable(table)) ?? []).map((c) => [c.name, c.type]));
    // format_type's modifier, as in numeric(12,2) or character varying(20), does not change the type's text form.
    const column = (name: string): { name: string; type: string } => ({
      name,
      type: (types.get(name) ?? '').replace(/\(\d+(,\d+)?\)$/, ''),
    });
    keys.push({ table, columns: rel.primaryKey.map(column) });
  }
  return keys;
}

/**
 * The recording function of one table: its key as a static expression (an EXECUTE per row, as one
 * shared function taking the key's expression as an argument did, parsed and planned a query for
 * every replicated row: 84 µs a row inserted and 168 µs a row updated against 37 and 44 here,
 * `npm run bench -- dirty`), an update that keeps its key recorded once, and
 * the pinned settings only where the key's text form depends on them.
 */
function recordingFunctionSql(names: ObjectNames, key: TrackedKey): string {
  const fn = tableFunction(names, key.table);
  const tbl = pg.escapeLiteral(formatTable(key.table));
  const seq = `nextval(${pg.escapeLiteral(names.dirtySeq)})`;
  const record = (k: string): string =>
    `insert into ${names.dirty} (tbl, key, seq) values (${tbl}, ${k}, ${seq}) on conflict (tbl, key) do update set seq = excluded.seq;`;
  const settings = key.columns.every((c) => SETTING_FREE_TYPES.has(c.type)) ? SEARCH_PATH : functionSettings();
  const header = `create or replace function ${fn}() returns trigger language plpgsql security definer ${settings} as $fn$`;
  if (key.columns.length === 0)
    return `${header}
     begin
       ${record(`'{}'`)}
       return null;
     end $fn$`;
  const of = (row: string): string =>
    `array[${key.columns.map((c) => `${row}.${pg.escapeIdentifier(c.name)}::text`).join(', ')}]::text[]`;
  return `${header}
     declare
       o text[];
       n text[];
     begin
       if tg_op = 'TRUNCATE' then
         ${record(`'{}'`)}
         return null;
       end if;
       if tg_op in ('UPDATE', 'DELETE') then
         o := ${of('old')};
       end if;
       if tg_op in ('INSERT', 'UPDATE') then
         n := ${of('new')};
       end if;
       if o is not null and o is distinct from n then
         ${record('o')}
       end if;
       if n is not null then
         ${record('n')}
       end if;
       return null;
     end $fn$`;
}

/** A no-op in place of every recording function of this run (one statement, no lock on the tables). */
function pauseSql(names: ObjectNames): string {
  const replace = `create or replace function %I.%I() returns trigger language plpgsql security definer ${SEARCH_PATH} as $fn$ begin return null; end $fn$`;
  return `do $do$
     declare
       f record;
     begin
       for f in select p.proname from pg_proc p
                 where p.pronamespace = ${pg.escapeLiteral(HANDOFF_SCHEMA)}::regnamespace
                   and p.proname ~ ${pg.escapeLiteral(functionNamePattern(names))}
                   and p.pronargs = 0 and p.prorettype = 'trigger'::regtype
       loop
         execute format(${pg.escapeLiteral(replace)}, ${pg.escapeLiteral(HANDOFF_SCHEMA)}, f.proname);
       end loop;
     end $do$`;
}

/**
 * Stops recording without touching the tables: every recording function is replaced by one that
 * records nothing. Nothing reads the keys after the cutover's fenced re-check, and on the new writer
 * every write would otherwise pay for the recording (a third of the demo's write throughput,
 * measured); replacing a function takes no lock on the tables, where dropping or disabling their
 * triggers would wait for (and block) the service's transactions. Idempotent.
 */
export async function pauseDirtyTracking(
  target: pg.Client,
  names: ObjectNames,
  options: { clearThrough?: number } = {},
): Promise<void> {
  // With clearThrough: the keys up to that watermark (proven equal) are forgotten in the same round
  // trip and transaction (the cutover's re-check runs under the write pause).
  const { clearThrough } = options;
  if (clearThrough !== undefined && !Number.isSafeInteger(clearThrough))
    throw new InternalError(`pauseDirtyTracking: clearThrough must be an integer, not ${String(clearThrough)}`);
  const clear = clearThrough === undefined ? '' : `${clearSql(names, String(clearThrough))};\n`;
  await target.query(`${clear}${pauseSql(names)}`);
}

/** The tables this run's triggers are on (what was installed, whatever the plan says now). */
async function trackedTables(target: pg.Client, names: ObjectNames): Promise<TableName[]> {
  const r = await target.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name from pg_trigger t
       join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where t.tgname = $1 order by 1, 2`,
    [names.dirtyTrigger],
  );
  return r.rows;
}

/** Records again after pauseDirtyTracking (the undo of a cutover that paused it). Idempotent. */
export async function resumeDirtyTracking(target: pg.Client, names: ObjectNames): Promise<void> {
  await installDirtyTracking(target, names, await trackedTables(target, names));
}

/**
 * Installs (or re-installs) the dirty table, the tables' recording functions and their triggers.
 * Idempotent: a table whose triggers already call its function, enabled ALWAYS, only has its
 * function replaced (no lock on the table); otherwise its triggers are made again.
 */
export async function installDirtyTracking(
  target: pg.Client,
  names: ObjectNames,
  tables: readonly TableName[],
): Promise<void> {
  await target.query(`create schema if not exists ${HANDOFF_SCHEMA}`);
  await target.query(
    `create table if not exists ${names.dirty} (tbl text not null, key text[] not null, seq bigint not null, primary key (tbl, key))`,
  );
  await target.query(`create sequence if not exists ${names.dirtySeq}`);
  const trigger = pg.escapeIdentifier(names.dirtyTrigger);
  const truncTrigger = pg.escapeIdentifier(`${names.dirtyTrigger}_t`);
  for (const key of await describeKeys(target, tables)) {
    const fn = tableFunction(names, key.table);
    await target.query(recordingFunctionSql(names, key));
    const current = await target.query(
      `select 1 from pg_trigger
        where tgrelid = $1::regclass and tgname = any($2::text[]) and tgfoid = $3::regprocedure and tgenabled = 'A'`,
      [quoteTable(key.table), [names.dirtyTrigger, `${names.dirtyTrigger}_t`], `${fn}()`],
    );
    if (current.rowCount === 2) continue;
    await target.query('begin');
    try {
      await target.query(`drop trigger if exists ${trigger} on ${quoteTable(key.table)}`);
      await target.query(`drop trigger if exists ${truncTrigger} on ${quoteTable(key.table)}`);
      await target.query(
        `create trigger ${trigger} after insert or update or delete on ${quoteTable(key.table)} for each row execute function ${fn}()`,
      );
      await target.query(
        `create trigger ${truncTrigger} after truncate on ${quoteTable(key.table)} for each statement execute function ${fn}()`,
      );
      await target.query(`alter table ${quoteTable(key.table)} enable always trigger ${trigger}`);
      await target.query(`alter table ${quoteTable(key.table)} enable always trigger ${truncTrigger}`);
      await target.query('commit');
    } catch (error) {
      await target.query('rollback').catch(() => undefined);
      throw error;
    }
  }
}

/** Removes triggers, functions, table and sequence. Idempotent; works on whatever tables still exist. */
export async function removeDirtyTracking(target: pg.Client, names: ObjectNames): Promise<void> {
  const found = await target.query<{ tbl: string; tgname: string }>(
    `select format('%I.%I', n.nspname, c.relname) as tbl, t.tgname from pg_trigger t
       join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where t.tgname in ($1, $2)`,
    [names.dirtyTrigger, `${names.dirtyTrigger}_t`],
  );
  for (const row of found.rows)
    await target.query(`drop trigger if exists ${pg.escapeIdentifier(row.tgname)} on ${row.tbl}`);
  const functions = await target.query<{ fn: string }>(
    `select format('%I.%I', n.nspname, p.proname) as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname ~ $2 and p.pronargs = 0`,
    [HANDOFF_SCHEMA, functionNamePattern(names)],
  );
  for (const row of functions.rows) await target.query(`drop function if exists ${row.fn}()`);
  await target.query(`drop table if exists ${names.dirty}`);
  await target.query(`drop sequence if exists ${names.dirtySeq}`);
  await dropSchemaIfEmpty(target);
}

export interface DirtySet {
  /** Clear up to this number once the keys are proven equal. */
  watermark: number;
  /** Per table (formatted name): changed keys, or 'all' when the whole table must be compared. */
  tables: Map<string, string[][] | 'all'>;
}

/** The keys changed since the last clean pass (the seam the verification module re-checks). */
export async function dirtyKeys(target: pg.Client, names: ObjectNames): Promise<DirtySet> {
  const r = await target.query<{ tbl: string; key: string[]; seq: string }>(
    `select tbl, key, seq::text from ${names.dirty} order by tbl, seq`,
  );
  const tables = new Map<string, string[][] | 'all'>();
  let watermark = 0;
  for (const row of r.rows) {
    watermark = Math.max(watermark, Number(row.seq));
    const current = tables.get(row.tbl);
    if (current === 'all') continue;
    if (row.key.length === 0) tables.set(row.tbl, 'all');
    else if (current === undefined) tables.set(row.tbl, [row.key]);
    else current.push(row.key); // in place: copying the list per row made 73 K keys take minutes
  }
  return { watermark, tables };
}

/**
 * Deletes the keys up to `watermark` except those a transaction is recording right now. The apply
 * worker records its changes' keys while verification clears the proven ones: a plain
 * `delete ... where seq <= n` locked its rows in the table's order, the apply worker's transaction
 * recorded keys in its own, and each waited for the other (a deadlock, seen in the 1 M-row demo as
 * the cutover settled its keys: the apply worker failed, rolled back and restarted). A key being
 * recorded gets a higher number when that transaction commits, so it must stay anyway; skipping it
 * means the delete never waits for a row lock, and the recorder waits at most for the delete.
 */
function clearSql(names: ObjectNames, watermark: string): string {
  return `delete from ${names.dirty} where ctid = any(array(
    select ctid from ${names.dirty} where seq <= ${watermark} for update skip locked))`;
}

/** Forgets keys up to a watermark (after they were proven equal). Returns how many were cleared. */
export async function clearDirty(target: pg.Client, names: ObjectNames, watermark: number): Promise<number> {
  const r = await target.query(clearSql(names, '$1'), [watermark]);
  return r.rowCount ?? 0;
}
