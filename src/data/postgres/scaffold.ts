/**
 * handoff's own objects on each server: the `handoff` schema with the run's marker table (published
 * with the data, so its rows prove how far replication got) and fence table (what a fence revoked,
 * written in the same transaction as the revoke). Created idempotently, dropped idempotently.
 */
import type pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import { HANDOFF_SCHEMA } from './catalog.js';
import type { ObjectNames } from './names.js';

export async function createScaffold(client: pg.Client, names: ObjectNames): Promise<void> {
  await client.query(`create schema if not exists ${HANDOFF_SCHEMA}`);
  await client.query(
    `create table if not exists ${names.marker} (
       direction text not null, seq bigint not null, written_at timestamptz not null default now(), primary key (direction, seq))`,
  );
  await client.query(
    `create table if not exists ${names.fence} (site text primary key, record jsonb not null, fenced_at timestamptz not null default now())`,
  );
}

/**
 * Drops the run's tables; drops the schema when no other run still uses it. Refuses while a fence
 * record is present (its undo would be lost) unless `force` (finalize, after it handed the record on).
 */
export async function dropScaffold(client: pg.Client, names: ObjectNames, force = false): Promise<void> {
  if (!force) {
    const exists = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [names.fence]);
    const fenced = exists.rows[0]?.ok
      ? ((await client.query(`select 1 from ${names.fence} limit 1`)).rowCount ?? 0)
      : 0;
    if (fenced > 0)
      throw new AdapterError(`${names.fence} still records a fence; unfence before removing handoff's tables`);
  }
  await client.query(`drop table if exists ${names.marker}, ${names.fence}`);
  await dropSchemaIfEmpty(client);
}

export async function dropSchemaIfEmpty(client: pg.Client): Promise<void> {
  const left = await client.query<{ n: number }>(
    `select ((select count(*) from pg_class where relnamespace = n.oid) + (select count(*) from pg_proc where pronamespace = n.oid))::int as n
       from pg_namespace n where n.nspname = $1`,
    [HANDOFF_SCHEMA],
  );
  if (left.rows[0] && left.rows[0].n === 0) await client.query(`drop schema if exists ${HANDOFF_SCHEMA} restrict`);
}

export async function scaffoldExists(client: pg.Client, names: ObjectNames): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [names.marker]);
  return r.rows[0]?.ok ?? false;
}
