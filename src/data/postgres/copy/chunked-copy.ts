/**
 * The initial copy made by handoff (`spec.data[].copy.method: snapshot-chunks`, pgcopydb's way):
 * a slot with an exported snapshot on a replication connection kept open and idle, every table
 * copied in primary-key chunks under that snapshot (paced between chunks, each chunk committed on
 * the target), then the subscription made on that slot without a copy: the changes since the
 * snapshot stream from the slot.
 *
 * The snapshot dies with the process, so a replayed step starts over: it drops this run's
 * subscription and slot and, if an earlier attempt recorded that it was filling the target
 * (`copy-intent`, written before the first row), empties the plan's tables on the target.
 */
import type pg from 'pg';
import { AdapterError, isHandoffError, messageOf } from '../../../common/errors.js';
import type { StepContext } from '../../data-plane.js';
import type { Pacer } from '../../throttle/pacer.js';
import { describeColumns, describeRelations, serverMajor } from '../catalog.js';
import { connect, formatTable, quoteTable, type TableName } from '../connect.js';
import { runRoleAccess } from '../replication-connect.js';
import { planTables, withSites, type PgEnv } from '../session.js';
import { dropSlot, dropSubscription, ensureSubscription, type TableSyncState } from '../subscription.js';
import { copyTableInChunks, type ChunkPace, type TableCopyPlan } from './copy-table.js';
import { createSnapshotSlot, openWriteTransactions } from './snapshot-slot.js';
import '../events.js';
import './events.js';

/**
 * The copy's largest chunk, and its target time per chunk (the plan's `chunkTargetTime` when
 * shorter). Not verification's `chunkRows`: a copy chunk pays two statements and a round trip
 * each, so small chunks made the copy slow (2,000-row chunks: 35 K rows/s at 600 K rows).
 * A short target keeps each burst of full-speed copying short beside the service.
 */
export const COPY_MAX_CHUNK_ROWS = 50_000;
export const COPY_CHUNK_TARGET_MS = 250;

/** Progress events at most this often (state changes at once). */
export const COPY_PROGRESS_EVERY_MS = 500;

export interface ChunkedCopyResult {
  tables: Array<{ table: string; rows: number; chunks: number }>;
  rows: number;
  chunks: number;
  /** True when this attempt found an earlier one's rows and started over. */
  restarted: boolean;
}

export async function runChunkedCopy(
  ctx: StepContext,
  env: PgEnv,
  pacer: Pacer | undefined,
): Promise<ChunkedCopyResult> {
  const database = env.entry.database;
  const names = env.names(ctx);
  const intentKey = env.key('copy-intent');
  return withSites(ctx, env, async ({ source, target }) => {
    const tables = await planTables(ctx, env, source);
    // Start over: whatever an earlier attempt left (its snapshot is gone with its process).
    await dropSubscription(target, source, names.forward, ctx.state.get<number>(env.key('forward-oid')));
    await dropSlot(source, names.forward, 15_000);
    const restarted = ctx.state.get(intentKey) !== undefined;
    // Only rows this run's copy put there are ever emptied: the first attempt finds every table empty.
    if (!restarted) await requireEmpty(target, tables, database);
    if (restarted) {
      await target.query(`truncate ${tables.map(quoteTable).join(', ')}`);
      ctx.events.emit('pg-copy-restarted', { database, truncated: tables.map(formatTable) }, { subject: database });
    }
    const access = await runRoleAccess(ctx, env, source, 'forward', tables);
    const [sourceMajor, targetMajor] = await Promise.all([serverMajor(source), serverMajor(target)]);
    const plans = await copyPlans(source, tables);
    const snap = await createSnapshotSlot({
      url: access.url,
      slot: names.forward,
      major: sourceMajor,
      failover: sourceMajor >= 17 && targetMajor >= 17,
      redactor: ctx.redactor,
      timeoutMs: env.options.statementTimeoutMs,
      signal: ctx.signal,
      waitingFor: () => openWriteTransactions(source),
      terminate: (pid) => source.query('select pg_terminate_backend($1)', [pid]),
    });
    ctx.events.emit('pg-replication-changed', { database, what: 'slot', name: names.forward, action: 'created' });
    try {
      ctx.state.set(intentKey, { slot: names.forward });
      const copied = await copyAll(ctx, env, snap.snapshot, plans, pacer);
      const { oid } = await ensureSubscription(target, source, {
        name: names.forward,
        publication: names.forward,
        conninfo: access.conninfo,
        copyData: false,
        originNone: false,
        existingSlot: names.forward,
        // The backlog written during the copy is applied by the next step, paced (catch-up.ts).
        enabled: false,
      });
      ctx.state.set(env.key('forward-oid'), oid);
      ctx.events.emit('pg-replication-changed', {
        database,
        what: 'subscription',
        name: names.forward,
        action: 'created',
      });
      return {
        tables: copied,
        rows: copied.reduce((sum, t) => sum + t.rows, 0),
        chunks: copied.reduce((sum, t) => sum + t.chunks, 0),
        restarted,
      };
    } finally {
      await snap.close();
    }
  });
}

async function requireEmpty(target: pg.Client, tables: readonly TableName[], database: string): Promise<void> {
  for (const table of tables) {
    const r = await target.query(`select 1 from ${quoteTable(table)} limit 1`);
    if (r.rowCount)
      throw new AdapterError(
        `the target table ${formatTable(table)} in ${database} already holds rows; the initial copy needs the plan's tables empty on the target (preflight pg.target-not-empty): empty it, or set spec.data[].preSeeded when the data is there on purpose`,
      );
  }
}

/** Columns (generated ones left out) and primary key of each table, read on the source. */
async function copyPlans(source: pg.Client, tables: readonly TableName[]): Promise<TableCopyPlan[]> {
  const [relations, columns] = await Promise.all([describeRelations(source, tables), describeColumns(source, tables)]);
  return tables.map((table) => {
    const name = formatTable(table);
    const relation = relations.get(name);
    const all = columns.get(name) ?? [];
    if (!relation) throw new AdapterError(`table ${name} disappeared from the source during the copy`);
    const typeOf = (column: string): string => all.find((c) => c.name === column)?.type ?? 'text';
    return {
      table,
      columns: all.filter((c) => c.generated === '').map((c) => ({ name: c.name, type: c.type })),
      key: relation.primaryKey.map((column) => ({ name: column, type: typeOf(column) })),
      partitioned: relation.relkind === 'p',
    };
  });
}

/** Copies every table under the snapshot on two sessions of its own; emits `pg-copy-progress`. */
async function copyAll(
  ctx: StepContext,
  env: PgEnv,
  snapshot: string,
  plans: readonly TableCopyPlan[],
  pacer: Pacer | undefined,
): Promise<ChunkedCopyResult['tables']> {
  const database = env.entry.database;
  const open = (site: 'source' | 'target'): Promise<pg.Client> =>
    connect(ctx.secrets.databaseUrl(site, database), {
      name: `${site} database ${database}`,
      redactor: ctx.redactor,
      applicationName: 'handoff-copy',
    });
  const sessions: pg.Client[] = [];
  try {
    const source = await open('source');
    sessions.push(source);
    const target = await open('target');
    sessions.push(target);
    // The snapshot transaction may sit idle during a throttle pause.
    await source.query(`set idle_in_transaction_session_timeout = 0`);
    // No parallel workers for the copy's statements (chunks are index range scans): workers would
    // take cores from the service the copy runs beside.
    await source.query(`set max_parallel_workers_per_gather = 0`);
    await source.query(`begin isolation level repeatable read read only`);
    await source.query(`set transaction snapshot '${snapshot.replace(/'/g, "''")}'`);
    await replicaRole(ctx, target);
    const progress: TableSyncState[] = plans.map((p) => ({ table: formatTable(p.table), state: 'i', rowsCopied: 0 }));
    let emittedAt = 0;
    const emit = (force: boolean): void => {
      if (!force && Date.now() - emittedAt < COPY_PROGRESS_EVERY_MS) return;
      emittedAt = Date.now();
      const ready = progress.every((t) => t.state === 'r');
      ctx.events.emit(
        'pg-copy-progress',
        { database, tables: progress.map((t) => ({ ...t })), ready },
        { subject: database },
      );
    };
    const fixed = COPY_MAX_CHUNK_ROWS;
    let lastChunkMs = 0;
    const pace: ChunkPace = {
      next: async () => {
        ctx.signal.throwIfAborted();
        if (!pacer) return fixed;
        await pacer.rest(lastChunkMs, ctx.signal);
        lastChunkMs = 0;
        return await pacer.ready(ctx.signal);
      },
      done: (rows, durationMs) => {
        lastChunkMs = durationMs;
        pacer?.chunkDone(rows, durationMs);
      },
    };
    await pacer?.start();
    const out: ChunkedCopyResult['tables'] = [];
    for (const [i, plan] of plans.entries()) {
      const state = progress[i]!;
      state.state = 'd';
      emit(true);
      const result = await copyTableInChunks(plan, { source, target }, pace, (rows) => {
        state.rowsCopied = rows;
        emit(false);
      }).catch((error: unknown) => {
        if (ctx.signal.aborted || isHandoffError(error)) throw error;
        throw new AdapterError(
          `the initial copy of ${state.table} failed after ${state.rowsCopied ?? 0} rows (${ctx.redactor.redact(messageOf(error))}); a new attempt starts the copy over`,
          { cause: error, retryable: true },
        );
      });
      state.state = 'r';
      emit(true);
      out.push({ table: state.table, ...result });
    }
    await source.query('commit');
    return out;
  } finally {
    await Promise.all(sessions.map((session) => session.end().catch(() => undefined)));
  }
}

/**
 * Rows are written as replication writes them: the target's triggers (foreign-key checks among
 * them: tables are copied one after the other) do not fire. Needs superuser (or, from PostgreSQL
 * 15, SET granted on session_replication_role); without it the copy goes on with a warning.
 */
async function replicaRole(ctx: StepContext, target: pg.Client): Promise<void> {
  try {
    await target.query(`set session_replication_role = replica`);
  } catch (error) {
    ctx.logger.warn('the copy cannot set session_replication_role = replica on the target; triggers will fire', {
      error: messageOf(error),
    });
  }
}
