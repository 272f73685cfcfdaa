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

/** A text[] literal of quoted values (for statements sent several to a message, which take no parameters). */
function textArray(values: readonly string[]): string {
  return `array[${values.map((v) => pg.escapeLiteral(v)).join(', ')}]::text[]`;
}

/** The write privileges on `tables` held by roles other than superusers and handoff's own (or only `roles`). */
function grantsQuery(tables: readonly TableName[], roles: readonly string[] | undefined): string {
  return `select n.nspname as schema, c.relname as table,
            case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as role,
            a.privilege_type as privilege, a.is_grantable as grantable
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where (n.nspname, c.relname) in (select * from unnest(${textArray(tables.map((t) => t.schema))}, ${textArray(tables.map((t) => t.name))}))
        and a.privilege_type = any(${textArray(WRITE_PRIVILEGES)})
        and (a.grantee = 0 or not (select rolsuper from pg_roles where oid = a.grantee))
        and a.grantee <> (select oid from pg_roles where rolname = current_user)
        ${roles ? `and pg_get_userbyid(a.grantee) = any(${textArray(roles)})` : ''}
      order by 1, 2, 3, 4`;
}

/** The fence record of `site` (literal SQL, for a message of several statements). */
function fenceRecordQuery(names: ObjectNames, site: string): string {
  return `select record, (extract(epoch from fenced_at) * 1000)::float8 as at from ${names.fence} where site = ${pg.escapeLiteral(site)}`;
}

/** Sends several statements in one message; one result per statement. */
async function several(client: pg.Client, statements: readonly string[]): Promise<pg.QueryResult[]> {
  const result = (await client.query(statements.join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
  return Array.isArray(result) ? result : [result];
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

/**
 * Fences one site's tables. Idempotent: when the site is already fenced, only drains and writes a
 * marker. Under the write pause every round trip counts: a revoke fence takes two, whatever the
 * number of grants (the lock, the record and the grants; then the revokes, the record, the commit,
 * the marker if no writer is left and the writers), more only while writers drain.
 */
export async function fenceSite(
  client: pg.Client,
  names: ObjectNames,
  site: string,
  tables: readonly TableName[],
  options: FenceOptions,
): Promise<FenceResult> {
  let terminated = 0;
  let state: { record: FenceRecord; at: number } | null = null;
  let marked: number | null = null;
  // After the change, in the same message: the marker when no writer is left, and the writers.
  const drainStatements = drainChecks(names, tables, options);
  let checks: pg.QueryResult[] = [];
  try {
    const readsGrants = options.method === 'revoke' || !options.roles;
    const [, , current, granted] = await several(client, [
      'begin',
      `lock table ${names.fence} in exclusive mode`,
      fenceRecordQuery(names, site),
      ...(readsGrants ? [grantsQuery(tables, options.roles)] : []),
    ]);
    const found = current?.rows[0] as { record: FenceRecord; at: number } | undefined;
    if (found) {
      state = found;
      // A read-only fence ends the roles' sessions first (below): nothing is checked before that.
      const inline = found.record.method === 'revoke' ? drainStatements : [];
      checks = (await several(client, ['commit', ...inline])).slice(1);
    } else {
      const grants = (granted?.rows ?? []) as FenceGrant[];
      const record: FenceRecord = { method: options.method, grants: [], roleSettings: [] };
      const changes: string[] = [];
      if (options.method === 'revoke') {
        // Names quoted, privileges from the catalog.
        for (const g of grants)
          changes.push(
            `revoke ${g.privilege} on ${quoteTable({ schema: g.schema, name: g.table })} from ${grantee(g.role)}`,
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
      const inline = record.method === 'revoke' ? drainStatements : [];
      const results = await several(client, [
        ...changes,
        `insert into ${names.fence} (site, record) values (${pg.escapeLiteral(site)}, ${pg.escapeLiteral(JSON.stringify(record))}::jsonb)
         returning (extract(epoch from fenced_at) * 1000)::float8 as at`,
        'commit',
        ...inline,
      ]);
      const at = (results[changes.length]?.rows[0] as { at: number } | undefined)?.at;
      if (at === undefined) throw new AdapterError(`the ${site} fence record was not written`);
      state = { record, at };
      checks = results.slice(changes.length + 2);
    }
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
  if (checks.length > 0) {
    const [mark, writers] = options.marker ? checks : [undefined, checks[0]];
    marked = mark?.rows[0] ? Number((mark.rows[0] as { seq: string }).seq) : null;
    if (marked === null && (writers?.rows.length ?? 0) === 0 && options.marker === null) marked = 0;
  }
  if (marked !== null) return { record: state.record, fencedAtMs: state.at, marker: marked, terminated };
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

/** Sessions holding a write lock on `tables` (literal SQL; the select list is the caller's). */
function writersWhere(tables: readonly TableName[]): string {
  const regclasses = `array[${tables.map((t) => pg.escapeLiteral(quoteTable(t))).join(', ')}]::regclass[]`;
  return `from pg_locks where locktype = 'relation' and relation = any(${regclasses}) and mode in ${WRITE_LOCKS}
            and pid <> pg_backend_pid()`;
}

/**
 * What the fence sends right after its commit, in the same message: the marker, written only if no
 * session holds a write lock on the tables any more (the check and the insert are one statement, so
 * no write can end between them unseen), then the writers (for the drain when the marker was not
 * written). A writer that is not in pg_locks has written its commit record already, so the marker
 * follows every write the application was told succeeded.
 */
function drainChecks(names: ObjectNames, tables: readonly TableName[], options: FenceOptions): string[] {
  const out: string[] = [];
  const none = tables.length > 0 ? `having not exists (select 1 ${writersWhere(tables)})` : '';
  if (options.marker) {
    const direction = pg.escapeLiteral(options.marker);
    out.push(`insert into ${names.marker} (direction, seq)
       select ${direction}, coalesce(max(seq), 0) + 1 from ${names.marker} where direction = ${direction} ${none}
     returning seq`);
  }
  if (tables.length > 0) out.push(`select distinct virtualtransaction as vxid, pid ${writersWhere(tables)}`);
  return out;
}

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
    const writing = async (among: ReadonlySet<string> | null): Promise<Map<string, number>> => {
      const r = await client.query<{ vxid: string; pid: number }>(
        `select distinct virtualtransaction as vxid, pid ${writersWhere(tables)}`,
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

/** SQLSTATEs of a fence table that is not there: undefined_table, and invalid_schema_name (no scaffold at all). */
const NO_FENCE_TABLE = new Set(['42P01', '3F000']);

/**
 * Restores exactly what the fence changed and removes its record, in one transaction. Idempotent.
 * Two round trips whatever the number of grants (the target opens under the write pause): the lock,
 * the record and which of its tables and roles still exist; then every grant, the delete and the commit.
 */
export async function unfenceSite(
  client: pg.Client,
  names: ObjectNames,
  site: string,
): Promise<{ record: FenceRecord; fencedAtMs: number } | null> {
  let first: pg.QueryResult[];
  try {
    first = await several(client, [
      'begin',
      `lock table ${names.fence} in exclusive mode`,
      fenceRecordQuery(names, site),
      // Which granted tables and roles still exist (a table or role that is gone: nothing to give back).
      `select (g.i - 1)::int as i, to_regclass(quote_ident(g.x->>'schema') || '.' || quote_ident(g.x->>'table')) is not null
              and (g.x->>'role' is null or exists (select 1 from pg_roles where rolname = g.x->>'role')) as ok
         from ${names.fence} f cross join lateral jsonb_array_elements(f.record->'grants') with ordinality as g(x, i)
        where f.site = ${pg.escapeLiteral(site)}`,
    ]);
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    // No fence table (never scaffolded, or dropped with its schema): nothing is fenced.
    if (NO_FENCE_TABLE.has(String((error as { code?: unknown }).code))) return null;
    throw error;
  }
  try {
    const state = first[2]?.rows[0] as { record: FenceRecord; at: number } | undefined;
    if (!state) {
      await client.query('commit');
      return null;
    }
    const grants = state.record.grants;
    const odd = grants.find((g) => !(WRITE_PRIVILEGES as readonly string[]).includes(g.privilege));
    if (odd)
      throw new AdapterError(
        `the ${site} fence record names a privilege handoff never revokes (${JSON.stringify(odd.privilege)}); it was changed by hand`,
      );
    const ok = new Set((first[3]?.rows ?? []).filter((row) => row.ok === true).map((row) => Number(row.i)));
    const statements = grants
      .filter((_, i) => ok.has(i))
      .map(
        (g) =>
          `grant ${g.privilege} on ${quoteTable({ schema: g.schema, name: g.table })} to ${grantee(g.role)}${g.grantable ? ' with grant option' : ''}`,
      );
    const db = pg.escapeIdentifier(client.database ?? '');
    for (const setting of state.record.roleSettings) {
      const role = pg.escapeIdentifier(setting.role);
      statements.push(
        setting.previous === null
          ? `alter role ${role} in database ${db} reset default_transaction_read_only`
          : `alter role ${role} in database ${db} set default_transaction_read_only = ${pg.escapeLiteral(setting.previous)}`,
      );
    }
    await several(client, [
      ...statements,
      `delete from ${names.fence} where site = ${pg.escapeLiteral(site)}`,
      'commit',
    ]);
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
