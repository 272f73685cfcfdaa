/**
 * Repair: rewrite the target's divergent rows from the source, as a verification report names
 * them. Per table, one transaction on the target: delete the extra keys, then upsert the missing
 * and changed rows with the source's current values (a key gone from the source meanwhile is
 * deleted). Triggers (and foreign-key checks) do not fire where `session_replication_role =
 * replica` is allowed; with a replication origin name the writes are marked with that origin so
 * reverse replication (`origin = none`) does not echo them back.
 */
import pg from 'pg';
import { AdapterError, InputError, messageOf } from '../../../common/errors.js';
import type { Redactor } from '../../../common/redact.js';
import { connect, parseTableName } from '../connect.js';
import { readTableShape } from './catalog.js';
import { keyColumns, keyIn, keyOf, keyText } from './sql.js';
import { planTable, type TablePlan } from './table-plan.js';
import type { Key, TableReport, VerifyReport } from './types.js';

export interface RepairOptions {
  source: string | pg.ClientBase;
  target: string | pg.ClientBase;
  /** A replication origin on the target (it must exist) to mark the writes with. */
  originName?: string;
  /** Keys per statement. Default 5,000. */
  batchSize?: number;
  redactor?: Redactor;
  signal?: AbortSignal;
  /**
   * Statement timeout of the sessions repair opens itself (ms); 60 s by default. A row the live
   * service holds locked would otherwise keep the repair waiting, and its own locks held, for good.
   */
  statementTimeoutMs?: number;
  /** Called with every repaired key, for the audit trail. */
  onRepaired?: (table: string, action: 'deleted' | 'upserted', keys: Key[]) => void;
}

/** Statement timeout of repair's own sessions by default (handoff's own sessions have the same). */
export const REPAIR_STATEMENT_TIMEOUT_MS = 60_000;

export interface TableRepair {
  table: string;
  deleted: number;
  inserted: number;
  updated: number;
  /** Whether triggers were kept from firing (session_replication_role = replica). */
  triggersSuppressed: boolean;
  keys: { deleted: Key[]; upserted: Key[] };
}

export interface RepairReport {
  tables: TableRepair[];
  /** Tables left alone, and why. */
  skipped: Array<{ table: string; reason: string }>;
}

export async function repair(report: VerifyReport, options: RepairOptions): Promise<RepairReport> {
  const out: RepairReport = { tables: [], skipped: [] };
  const todo = report.tables.filter(
    (table) => table.missing.length + table.extra.length + table.changed.length > 0 || !table.identical,
  );
  if (todo.length === 0) return out;
  const [source, target] = await Promise.all([
    open(options.source, 'source', options),
    open(options.target, 'target', options),
  ]);
  try {
    for (const table of todo) {
      options.signal?.throwIfAborted();
      const reason = refusal(table, report);
      if (reason) {
        out.skipped.push({ table: table.table, reason });
        continue;
      }
      const name = parseTableName(table.table, 'table');
      const [s, t] = await Promise.all([readTableShape(source.client, name), readTableShape(target.client, name)]);
      if (!s || !t) {
        out.skipped.push({ table: table.table, reason: 'the table no longer exists on both sides' });
        continue;
      }
      const { plan } = planTable(s, t);
      if (!plan || plan.key.length === 0) {
        out.skipped.push({ table: table.table, reason: 'no primary key shared by both sides' });
        continue;
      }
      out.tables.push(await repairTable(plan, table, source.client, target.client, options));
    }
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
  return out;
}

function refusal(table: TableReport, report: VerifyReport): string | null {
  if (table.method !== 'chunked')
    return 'compared as a whole (no usable primary key): the differing rows are not known';
  if (table.truncated)
    return 'the differences were not all located (more than the limit); verify with a higher limit first';
  if (report.schemaDifferences.some((difference) => difference.table === table.table))
    return 'the schemas differ; fix the schema first';
  return null;
}

async function repairTable(
  plan: TablePlan,
  table: TableReport,
  source: pg.ClientBase,
  target: pg.ClientBase,
  options: RepairOptions,
): Promise<TableRepair> {
  const batch = options.batchSize ?? 5_000;
  const result: TableRepair = {
    table: table.table,
    deleted: 0,
    inserted: 0,
    updated: 0,
    triggersSuppressed: false,
    keys: { deleted: [], upserted: [] },
  };
  // Read the source's current rows first (outside the target's transaction, which stays short).
  const wanted = [...table.missing, ...table.changed];
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < wanted.length; i += batch) {
    const params: unknown[] = [];
    const keys = wanted.slice(i, i + batch);
    const selected = await source.query<Record<string, unknown>>(
      `select ${keyText(plan)}, ${plan.writable.map((name, j) => `${pg.escapeIdentifier(name)}::text as c${j}`).join(', ')}
         from ${plan.sql} where ${keyIn(plan, keys, params)} order by ${keyColumns(plan)}`,
      params,
    );
    rows.push(...selected.rows);
  }
  const present = new Set(rows.map((row) => JSON.stringify(keyOf(row, plan))));
  const gone = wanted.filter((key) => !present.has(JSON.stringify(key)));
  const toDelete = [...table.extra, ...gone];

  try {
    await target.query('begin');
    result.triggersSuppressed = await tryReplicaRole(target);
    if (options.originName) {
      await target.query('select pg_replication_origin_session_setup($1)', [options.originName]);
    }
    for (let i = 0; i < toDelete.length; i += batch) {
      const keys = toDelete.slice(i, i + batch);
      const params: unknown[] = [];
      const deleted = await target.query(`delete from ${plan.sql} where ${keyIn(plan, keys, params)}`, params);
      result.deleted += deleted.rowCount ?? 0;
    }
    for (let i = 0; i < rows.length; i += batch) {
      const counts = await upsert(target, plan, rows.slice(i, i + batch));
      result.inserted += counts.inserted;
      result.updated += counts.updated;
    }
    await target.query('commit');
  } catch (cause) {
    await target.query('rollback').catch(() => undefined);
    throw new AdapterError(`repair of ${table.table} on the target failed and was rolled back: ${messageOf(cause)}`, {
      cause,
    });
  } finally {
    if (options.originName) await target.query('select pg_replication_origin_session_reset()').catch(() => undefined);
  }
  result.keys.deleted = toDelete;
  result.keys.upserted = rows.map((row) => keyOf(row, plan));
  if (toDelete.length) options.onRepaired?.(table.table, 'deleted', toDelete);
  if (rows.length) options.onRepaired?.(table.table, 'upserted', result.keys.upserted);
  return result;
}

/** `set local session_replication_role = replica` when this role may; false (and nothing changed) when not. */
async function tryReplicaRole(target: pg.ClientBase): Promise<boolean> {
  await target.query('savepoint handoff_replica_role');
  try {
    await target.query(`set local session_replication_role = replica`);
    await target.query('release savepoint handoff_replica_role');
    return true;
  } catch {
    await target.query('rollback to savepoint handoff_replica_role');
    return false;
  }
}

async function upsert(
  target: pg.ClientBase,
  plan: TablePlan,
  rows: Array<Record<string, unknown>>,
): Promise<{ inserted: number; updated: number }> {
  const params: unknown[] = [];
  const arrays = plan.writable.map((_, j) => {
    params.push(rows.map((row) => row[`c${j}`] ?? null));
    return `$${params.length}::text[]`;
  });
  const types = new Map(plan.columns.map((column) => [column.name, column.targetType]));
  const columns = plan.writable.map((name) => pg.escapeIdentifier(name));
  const casts = plan.writable.map((name, j) => `v${j}::${types.get(name) as string}`);
  const keyNames = new Set(plan.key.map((column) => column.name));
  const updates = plan.writable
    .filter((name) => !keyNames.has(name))
    .map((name) => `${pg.escapeIdentifier(name)} = excluded.${pg.escapeIdentifier(name)}`);
  const conflict = updates.length ? `do update set ${updates.join(', ')}` : 'do nothing';
  const result = await target.query<{ inserted: boolean }>(
    `insert into ${plan.sql} (${columns.join(', ')}) overriding system value
       select ${casts.join(', ')} from unnest(${arrays.join(', ')}) as u(${plan.writable.map((_, j) => `v${j}`).join(', ')})
       on conflict (${keyColumns(plan)}) ${conflict}
       returning (xmax = 0) as inserted`,
    params,
  );
  const inserted = result.rows.filter((row) => row.inserted).length;
  return { inserted, updated: result.rows.length - inserted };
}

interface Session {
  client: pg.ClientBase;
  close(): Promise<void>;
}

async function open(database: string | pg.ClientBase, name: string, options: RepairOptions): Promise<Session> {
  if (typeof database !== 'string') return { client: database, close: async () => {} };
  if (!database) throw new InputError(`${name}: no database URL`);
  const client = await connect(database, {
    name,
    applicationName: 'handoff-repair',
    statementTimeoutMs: options.statementTimeoutMs ?? REPAIR_STATEMENT_TIMEOUT_MS,
    ...(options.redactor ? { redactor: options.redactor } : {}),
  });
  return { client, close: () => client.end().catch(() => undefined) };
}
