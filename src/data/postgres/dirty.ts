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
import pg from 'pg';
import { InternalError } from '../../common/errors.js';
import { PINNED_SETTINGS, formatTable, quoteTable, type TableName } from './connect.js';
import { HANDOFF_SCHEMA, describeRelations } from './catalog.js';
import { dropSchemaIfEmpty } from './scaffold.js';
import type { ObjectNames } from './names.js';

function functionSettings(): string {
  const pinned = Object.entries(PINNED_SETTINGS)
    .filter(([name]) => name !== 'client_encoding' && name !== 'standard_conforming_strings')
    .map(([name, value]) => `set ${name} = ${pg.escapeLiteral(value)}`);
  return ['set search_path = pg_catalog, pg_temp', ...pinned].join(' ');
}

/** The trigger function that records each changed key (installed, or restored after a pause). */
async function createRecordingFunction(target: pg.Client, names: ObjectNames): Promise<void> {
  await target.query(
    `create or replace function ${names.dirtyFunction}() returns trigger language plpgsql security definer ${functionSettings()} as $fn$
     declare
       k text[];
     begin
       if tg_op = 'TRUNCATE' or tg_argv[0] = '' then
         insert into ${names.dirty} (tbl, key, seq) values (tg_argv[1], '{}', nextval(${pg.escapeLiteral(names.dirtySeq)}))
           on conflict (tbl, key) do update set seq = excluded.seq;
         return null;
       end if;
       if tg_op in ('UPDATE', 'DELETE') then
         execute format('select array[%s]::text[]', tg_argv[0]) using old into k;
         insert into ${names.dirty} (tbl, key, seq) values (tg_argv[1], k, nextval(${pg.escapeLiteral(names.dirtySeq)}))
           on conflict (tbl, key) do update set seq = excluded.seq;
       end if;
       if tg_op in ('INSERT', 'UPDATE') then
         execute format('select array[%s]::text[]', tg_argv[0]) using new into k;
         insert into ${names.dirty} (tbl, key, seq) values (tg_argv[1], k, nextval(${pg.escapeLiteral(names.dirtySeq)}))
           on conflict (tbl, key) do update set seq = excluded.seq;
       end if;
       return null;
     end $fn$`,
  );
}

/**
 * Stops recording without touching the tables: the trigger function is replaced by one that records
 * nothing. Nothing reads the keys after the cutover's fenced re-check, and on the new writer every
 * write would otherwise pay for the recording (a third of the demo's write throughput, measured);
 * replacing a function takes no lock on the tables, where dropping or disabling their triggers
 * would wait for (and block) the service's transactions. Idempotent.
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
  const clear = clearThrough === undefined ? '' : `delete from ${names.dirty} where seq <= ${clearThrough};\n`;
  await target.query(
    `${clear}create or replace function ${names.dirtyFunction}() returns trigger language plpgsql security definer ${functionSettings()} as $fn$
     begin
       return null;
     end $fn$`,
  );
}

/** Records again after pauseDirtyTracking (the undo of a cutover that paused it). Idempotent. */
export async function resumeDirtyTracking(target: pg.Client, names: ObjectNames): Promise<void> {
  await createRecordingFunction(target, names);
}

/** Installs (or re-installs) the dirty table, function and triggers. Idempotent. */
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
  await createRecordingFunction(target, names);
  const relations = await describeRelations(target, tables);
  for (const table of tables) {
    const rel = relations.get(formatTable(table));
    if (!rel) continue;
    const exprs = rel.primaryKey.map((col) => `($1).${pg.escapeIdentifier(col)}::text`).join(', ');
    const trigger = pg.escapeIdentifier(names.dirtyTrigger);
    const truncTrigger = pg.escapeIdentifier(`${names.dirtyTrigger}_t`);
    const args = `${pg.escapeLiteral(exprs)}, ${pg.escapeLiteral(formatTable(table))}`;
    await target.query('begin');
    try {
      await target.query(`drop trigger if exists ${trigger} on ${quoteTable(table)}`);
      await target.query(`drop trigger if exists ${truncTrigger} on ${quoteTable(table)}`);
      await target.query(
        `create trigger ${trigger} after insert or update or delete on ${quoteTable(table)} for each row execute function ${names.dirtyFunction}(${args})`,
      );
      await target.query(
        `create trigger ${truncTrigger} after truncate on ${quoteTable(table)} for each statement execute function ${names.dirtyFunction}(${args})`,
      );
      await target.query(`alter table ${quoteTable(table)} enable always trigger ${trigger}`);
      await target.query(`alter table ${quoteTable(table)} enable always trigger ${truncTrigger}`);
      await target.query('commit');
    } catch (error) {
      await target.query('rollback').catch(() => undefined);
      throw error;
    }
  }
}

/** Removes triggers, function, table and sequence. Idempotent; works on whatever tables still exist. */
export async function removeDirtyTracking(target: pg.Client, names: ObjectNames): Promise<void> {
  const found = await target.query<{ tbl: string; tgname: string }>(
    `select format('%I.%I', n.nspname, c.relname) as tbl, t.tgname from pg_trigger t
       join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where t.tgname in ($1, $2)`,
    [names.dirtyTrigger, `${names.dirtyTrigger}_t`],
  );
  for (const row of found.rows)
    await target.query(`drop trigger if exists ${pg.escapeIdentifier(row.tgname)} on ${row.tbl}`);
  await target.query(`drop function if exists ${names.dirtyFunction}()`);
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

/** Forgets keys up to a watermark (after they were proven equal). Returns how many were cleared. */
export async function clearDirty(target: pg.Client, names: ObjectNames, watermark: number): Promise<number> {
  const r = await target.query(`delete from ${names.dirty} where seq <= $1`, [watermark]);
  return r.rowCount ?? 0;
}
