/**
 * Fences: make a database refuse the application's writes, and undo exactly that.
 *
 * `revoke` (default) revokes INSERT, UPDATE, DELETE and TRUNCATE on the plan's tables from every role
 * holding them (or only `fence.roles`), except superusers and handoff's own role; privileges are
 * checked at each statement, so open sessions are refused at once. `read-only` sets
 * default_transaction_read_only for the roles in this database and ends their sessions.
 *
 * What was changed is written to `handoff.<run>_fence` in the same transaction as the change, so a
 * crash can never leave a fence whose undo is unknown; unfence restores it and deletes the record in
 * one transaction. After the change, the fence drains: it waits for the transactions that were
 * writing to the tables (ending them after a bound), then writes a heartbeat marker, so the marker
 * follows every write the application was told succeeded.
 */
import pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import { quoteTable, type TableName } from './connect.js';
import { writeMarker, type Direction } from './marker.js';
import type { ObjectNames } from './names.js';

export interface FenceGrant {
  schema: string;
  table: string;
  /** A role name, or null for PUBLIC. */
  role: string | null;
  privilege: string;
  grantable: boolean;
}

export interface FenceRecord {
  method: 'revoke' | 'read-only';
  grants: FenceGrant[];
  /** read-only: each role's previous default_transaction_read_only in this database (null: not set). */
  roleSettings: Array<{ role: string; previous: string | null }>;
}

export interface FenceOptions {
  method: 'revoke' | 'read-only';
  roles?: readonly string[] | undefined;
  drainMs: number;
  /**
   * Refuse a fence that would change nothing (no role but superusers and handoff's own holds write
   * privileges): writes would not be refused at all. For the writer being fenced at cutover or failback.
   */
  requireEffect?: boolean;
  /** Marker written once the writers have drained; none when nothing replicates from this site yet. */
  marker: Direction | null;
}

export interface FenceResult {
  record: FenceRecord;
  /** When the fence took effect (ms since the epoch, server clock). */
  fencedAtMs: number;
  marker: number;
  /** Sessions ended to drain or to enforce a read-only fence. */
  terminated: number;
}

const WRITE_PRIVILEGES = ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'];

function grantee(role: string | null): string {
  return role === null ? 'public' : pg.escapeIdentifier(role);
}

async function readGrants(
  client: pg.Client,
  tables: readonly TableName[],
  roles: readonly string[] | undefined,
): Promise<FenceGrant[]> {
  const r = await client.query<{
    schema: string;
    table: string;
    role: string | null;
    privilege: string;
    grantable: boolean;
  }>(
    `select n.nspname as schema, c.relname as table,
            case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as role,
            a.privilege_type as privilege, a.is_grantable as grantable
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))
        and a.privilege_type = any($3::text[])
        and (a.grantee = 0 or not (select rolsuper from pg_roles where oid = a.grantee))
        and a.grantee <> (select oid from pg_roles where rolname = current_user)
        and ($4::text[] is null or pg_get_userbyid(a.grantee) = any($4::text[]))
      order by 1, 2, 3, 4`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), WRITE_PRIVILEGES, roles ? [...roles] : null],
  );
  return r.rows;
}

async function fencedAt(
  client: pg.Client,
  names: ObjectNames,
  site: string,
): Promise<{ record: FenceRecord; at: number } | null> {
  const r = await client.query<{ record: FenceRecord; at: number }>(
    `select record, (extract(epoch from fenced_at) * 1000)::float8 as at from ${names.fence} where site = $1`,
    [site],
  );
  return r.rows[0] ?? null;
}

/** Fences one site's tables. Idempotent: when the site is already fenced, only drains and writes a marker. */
export async function fenceSite(
  client: pg.Client,
  names: ObjectNames,
  site: string,
  tables: readonly TableName[],
  options: FenceOptions,
): Promise<FenceResult> {
  let terminated = 0;
  let state: { record: FenceRecord; at: number } | null = null;
  // Under the write pause every round trip counts: begin and the lock in one, the record and the
  // commit in one (literals, quoted), and the time it took effect from the insert itself.
  await client.query(`begin; lock table ${names.fence} in exclusive mode`);
  try {
    state = await fencedAt(client, names, site);
    if (!state) {
      const grants =
        options.method === 'revoke' || !options.roles ? await readGrants(client, tables, options.roles) : [];
      const record: FenceRecord = { method: options.method, grants: [], roleSettings: [] };
      if (options.method === 'revoke') {
        // One round trip for all of them (they run under the write pause): names quoted, privileges from the catalog.
        if (grants.length > 0)
          await client.query(
            grants
              .map(
                (g) =>
                  `revoke ${g.privilege} on ${quoteTable({ schema: g.schema, name: g.table })} from ${grantee(g.role)}`,
              )
              .join(';\n'),
          );
        record.grants = grants;
      } else {
        const roles = options.roles ?? [...new Set(grants.map((g) => g.role).filter((r): r is string => r !== null))];
        for (const role of roles) {
          const prev = await client.query<{ value: string | null }>(
            `select (select substring(s from '^default_transaction_read_only=(.*)$') from unnest(setconfig) s
                      where s like 'default_transaction_read_only=%') as value
               from pg_db_role_setting where setdatabase = (select oid from pg_database where datname = current_database())
                and setrole = (select oid from pg_roles where rolname = $1)`,
            [role],
          );
          record.roleSettings.push({ role, previous: prev.rows[0]?.value ?? null });
          await client.query(
            `alter role ${pg.escapeIdentifier(role)} in database ${pg.escapeIdentifier(client.database ?? '')} set default_transaction_read_only = on`,
          );
        }
      }
      if (options.requireEffect && record.grants.length === 0 && record.roleSettings.length === 0) {
        throw new AdapterError(
          `cannot fence the ${site}: no role other than superusers and handoff's own holds INSERT, UPDATE, DELETE or TRUNCATE on the tables${options.roles ? ` (fence.roles: ${options.roles.join(', ')})` : ''}, so revoking would refuse nothing; ` +
            'give the application its own non-superuser role, or use fence.method: read-only with fence.roles',
        );
      }
      const results = (await client.query(
        `insert into ${names.fence} (site, record) values (${pg.escapeLiteral(site)}, ${pg.escapeLiteral(JSON.stringify(record))}::jsonb)
         returning (extract(epoch from fenced_at) * 1000)::float8 as at;
         commit`,
      )) as unknown as pg.QueryResult<{ at: number }>[];
      const at = results[0]?.rows[0]?.at;
      if (at === undefined) throw new AdapterError(`the ${site} fence record was not written`);
      state = { record, at };
    } else await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
  if (state.record.method === 'read-only') {
    terminated += await terminateSessions(
      client,
      state.record.roleSettings.map((s) => s.role),
    );
  }
  const drained = await drain(client, names, tables, options);
  terminated += drained.terminated;
  return { record: state.record, fencedAtMs: state.at, marker: drained.marker, terminated };
}

async function terminateSessions(client: pg.Client, roles: readonly string[]): Promise<number> {
  if (roles.length === 0) return 0;
  const r = await client.query<{ n: number }>(
    `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
      where datname = current_database() and usename = any($1::text[]) and pid <> pg_backend_pid()`,
    [[...roles]],
  );
  return r.rows[0]?.n ?? 0;
}

/** Write locks: what a session that inserts, updates, deletes or truncates holds until it ends. */
const WRITE_LOCKS = `('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')`;

/** How often the drain looks at the writers it waits for. */
export const DRAIN_POLL_MS = 5;

/**
 * Waits for the transactions that were writing to the tables when the fence took effect (their
 * virtual transaction ids, from pg_locks), ending them after the bound, then writes the marker: it
 * follows every write the application was told succeeded, since no write can start any more.
 *
 * Not a table lock: every lock mode that waits for writers (SHARE and up) also waits for
 * autovacuum's SHARE UPDATE EXCLUSIVE, and a waiting lock cancels autovacuum only after
 * `deadlock_timeout` (1 s by default). At 1,000,000 rows the cutover's write pause took 1.2 s
 * instead of 0.2 s while an autovacuum of a large table ran on the source.
 */
async function drain(
  client: pg.Client,
  names: ObjectNames,
  tables: readonly TableName[],
  options: FenceOptions,
): Promise<{ marker: number; terminated: number }> {
  let terminated = 0;
  if (tables.length > 0) {
    const regclasses = tables.map(quoteTable);
    const writing = async (among: ReadonlySet<string> | null): Promise<Map<string, number>> => {
      const r = await client.query<{ vxid: string; pid: number }>(
        `select distinct virtualtransaction as vxid, pid from pg_locks
          where locktype = 'relation' and relation = any($1::regclass[]) and mode in ${WRITE_LOCKS}
            and pid <> pg_backend_pid()`,
        [regclasses],
      );
      return new Map(r.rows.filter((row) => among === null || among.has(row.vxid)).map((row) => [row.vxid, row.pid]));
    };
    let waiting = await writing(null);
    const ids = new Set(waiting.keys());
    for (let attempt = 0; waiting.size > 0; attempt++) {
      const deadline = Date.now() + Math.max(1, options.drainMs);
      while (waiting.size > 0 && Date.now() < deadline) {
        await sleep(DRAIN_POLL_MS);
        waiting = await writing(ids);
      }
      if (waiting.size === 0) break;
      if (attempt >= 2)
        throw new AdapterError(
          `${waiting.size} transactions still write to the fenced tables after being ended (pids ${[...waiting.values()].join(', ')})`,
          { retryable: true },
        );
      // Writers still open after the bound: end them (their transactions were never acknowledged).
      const r = await client.query<{ n: number }>(
        `select count(*) filter (where pg_terminate_backend(pid))::int as n from unnest($1::int[]) pid`,
        [[...new Set(waiting.values())]],
      );
      terminated += r.rows[0]?.n ?? 0;
    }
  }
  const marker = options.marker ? await writeMarker(client, names, options.marker) : 0;
  return { marker, terminated };
}

/** Restores exactly what the fence changed and removes its record, in one transaction. Idempotent. */
export async function unfenceSite(
  client: pg.Client,
  names: ObjectNames,
  site: string,
): Promise<{ record: FenceRecord; fencedAtMs: number } | null> {
  const exists = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [names.fence]);
  if (!exists.rows[0]?.ok) return null;
  await client.query(`begin; lock table ${names.fence} in exclusive mode`);
  try {
    const state = await fencedAt(client, names, site);
    if (!state) {
      await client.query('commit');
      return null;
    }
    // Two round trips whatever the number of grants (the target opens under the write pause): which
    // tables and roles still exist, then every grant given back in one statement.
    const grants = state.record.grants;
    const odd = grants.find((g) => !(WRITE_PRIVILEGES as readonly string[]).includes(g.privilege));
    if (odd)
      throw new AdapterError(
        `the ${site} fence record names a privilege handoff never revokes (${JSON.stringify(odd.privilege)}); it was changed by hand`,
      );
    if (grants.length > 0) {
      const present = await client.query<{ i: number; ok: boolean }>(
        `select i::int, to_regclass(t) is not null and (r is null or exists (select 1 from pg_roles where rolname = r)) as ok
           from unnest($1::text[], $2::text[]) with ordinality as u(t, r, i)`,
        [grants.map((g) => quoteTable({ schema: g.schema, name: g.table })), grants.map((g) => g.role)],
      );
      const ok = new Set(present.rows.filter((row) => row.ok).map((row) => row.i - 1));
      // A table or role that is gone: nothing to give back.
      const statements = grants
        .filter((_, i) => ok.has(i))
        .map(
          (g) =>
            `grant ${g.privilege} on ${quoteTable({ schema: g.schema, name: g.table })} to ${grantee(g.role)}${g.grantable ? ' with grant option' : ''}`,
        );
      if (statements.length > 0) await client.query(statements.join(';\n'));
    }
    for (const s of state.record.roleSettings) {
      const role = pg.escapeIdentifier(s.role);
      const db = pg.escapeIdentifier(client.database ?? '');
      if (s.previous === null)
        await client.query(`alter role ${role} in database ${db} reset default_transaction_read_only`);
      else
        await client.query(
          `alter role ${role} in database ${db} set default_transaction_read_only = ${pg.escapeLiteral(s.previous)}`,
        );
    }
    await client.query(`delete from ${names.fence} where site = ${pg.escapeLiteral(site)}; commit`);
    return { record: state.record, fencedAtMs: state.at };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** Whether a site is fenced now (its fence record exists). */
export async function isFenced(client: pg.Client, names: ObjectNames, site: string): Promise<boolean> {
  const exists = await client.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [names.fence]);
  if (!exists.rows[0]?.ok) return false;
  return (await fencedAt(client, names, site)) !== null;
}
