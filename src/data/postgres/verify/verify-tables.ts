/**
 * `verifyTables`: proves two databases hold the same rows, to the exact key. Schemas first
 * (columns, types, primary keys: their own section), then chunked checksums computed in SQL on
 * both sides concurrently, then the exact keys of every difference. Read-only: it creates nothing.
 *
 * For live tables, `recheck` waits until the target has caught up (the replication marker); the
 * chunks that mismatched are then compared again, and only what persists is reported. A later
 * pass (cutover's final check) can compare only named chunks with `onlyChunks`.
 */
import type pg from 'pg';
import { AdapterError, InputError, isHandoffError, messageOf, TimeoutError } from '../../../common/errors.js';
import type { Redactor } from '../../../common/redact.js';
import type { Pacer } from '../../throttle/pacer.js';
import { HANDOFF_SCHEMA } from '../catalog.js';
import { formatTable, parseTableName, type TableName } from '../connect.js';
import { hashFunctions, listUserTables, readTableShape, type TableShape } from './catalog.js';
import { compareTable, type ChunkSelection } from './compare-table.js';
import { settleMovingKeys, type MovingKeysResult } from './moving-keys.js';
import { createSessionPool, type SessionPool } from './session-pool.js';
import { columnHashExpressions, planTable, rowHashExpression, type TablePlan } from './table-plan.js';
import type { SchemaDifference, TableReport, VerifyProgress, VerifyReport } from './types.js';

export interface VerifyOptions {
  /** A URL (sessions are opened and closed here) or a session the caller owns (used alone, not in a transaction). */
  source: string | pg.ClientBase;
  target: string | pg.ClientBase;
  /** Tables to compare; every ordinary table in non-system schemas of the source when left out. */
  tables?: readonly TableName[];
  /** Schemas left out of discovery; handoff's own (markers, dirty keys) by default. */
  excludeSchemas?: readonly string[];
  /** Rows per chunk (about). Default 10,000. */
  chunkRows?: number;
  /** Sessions per side. Default 2. */
  concurrency?: number;
  /** Ranges at or below this size are compared row by row (one hash per row). Default 512. */
  leafRows?: number;
  /** Parts a mismatching range is split into at each step. Default 8. */
  fanout?: number;
  /** Differing keys reported per table at most. Default 10,000. */
  maxDifferences?: number;
  signal?: AbortSignal;
  onProgress?: (progress: VerifyProgress) => void;
  /** Waits until the target has every change made so far (the replication marker). */
  recheck?: () => Promise<void>;
  /** How many times to wait for `recheck` and compare the mismatching chunks again. Default 2. */
  recheckRounds?: number;
  /** Bound on each `recheck` wait. Default 60 s. */
  recheckTimeoutMs?: number;
  /** Compare only these chunks, by table (`schema.table` as reports name it); other tables are skipped. */
  onlyChunks?: Readonly<Record<string, readonly ChunkSelection[]>>;
  /**
   * Paces the work by the service's health (spec.data[].throttle): every chunk waits until the
   * budget allows it; re-check rounds are paced as `recheck`. Started (baseline) before the first chunk.
   */
  pacer?: Pacer;
  redactor?: Redactor;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
}

interface Prepared {
  plan: TablePlan;
  hash: string;
  columnHashes: string[];
  notes: string[];
  only?: readonly ChunkSelection[];
}

export async function verifyTables(options: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const concurrency = positive(options.concurrency ?? 2, 'concurrency');
  const chunkRows = positive(options.chunkRows ?? 10_000, 'chunkRows');
  const poolOptions = {
    size: concurrency,
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    statementTimeoutMs: options.statementTimeoutMs ?? 15 * 60_000,
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  };
  const pools: SessionPool[] = [];
  try {
    // Both sides at once; when one fails, the other (once open) is closed in `finally` too.
    const opened = await Promise.allSettled([
      createSessionPool(options.source, { ...poolOptions, name: 'source' }),
      createSessionPool(options.target, { ...poolOptions, name: 'target' }),
    ]);
    for (const result of opened) if (result.status === 'fulfilled') pools.push(result.value);
    for (const result of opened) if (result.status === 'rejected') throw result.reason;
    const [source, target] = pools as [SessionPool, SessionPool];
    const schemaDifferences: SchemaDifference[] = [];
    const notes: string[] = [];
    const prepared = await prepare(options, source, target, schemaDifferences, notes);

    const compareOptions = {
      chunkRows,
      concurrency,
      leafRows: positive(options.leafRows ?? 512, 'leafRows'),
      fanout: Math.max(2, options.fanout ?? 8),
      maxDifferences: positive(options.maxDifferences ?? 10_000, 'maxDifferences'),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.pacer ? { pacer: options.pacer } : {}),
    };
    const recheckPacer = options.pacer?.as('recheck');
    await options.pacer?.start();
    const reports: TableReport[] = [];
    for (const item of prepared) {
      reports.push(
        await compareTable(item.plan, item.hash, source, target, {
          ...compareOptions,
          notes: item.notes,
          columnHashes: item.columnHashes,
          ...(item.only ? { only: item.only } : {}),
        }),
      );
    }

    let rechecks = 0;
    const rounds = options.recheck ? (options.recheckRounds ?? 2) : 0;
    while (rechecks < rounds && options.recheck && reports.some((report) => report.mismatchedChunks > 0)) {
      rechecks++;
      await bounded(options.recheck(), options.recheckTimeoutMs ?? 60_000, options.signal);
      for (let i = 0; i < reports.length; i++) {
        const report = reports[i] as TableReport;
        const item = prepared[i] as Prepared;
        if (report.mismatchedChunks === 0) continue;
        const again = await compareTable(item.plan, item.hash, source, target, {
          ...compareOptions,
          ...(recheckPacer ? { pacer: recheckPacer } : {}),
          notes: item.notes,
          columnHashes: item.columnHashes,
          only: report.chunkDetails.filter((chunk) => !chunk.matched),
        });
        reports[i] = merge(report, again, rechecks);
      }
    }
    if (options.recheck && rounds > 0) {
      const wait = options.recheck;
      await settleMoving(reports, prepared, source, target, rounds, () =>
        bounded(wait(), options.recheckTimeoutMs ?? 60_000, options.signal),
      );
    }

    const identical = schemaDifferences.length === 0 && reports.every((report) => report.identical);
    return {
      identical,
      rowsCompared: reports.reduce((sum, report) => sum + Math.max(report.sourceRows, report.targetRows), 0),
      elapsedMs: Date.now() - started,
      tables: reports,
      schemaDifferences,
      notes,
      rechecks,
    };
  } catch (error) {
    if (options.signal?.aborted || isHandoffError(error)) throw error;
    // A database error in the middle (permissions, a statement timeout, a lost connection): say so plainly.
    const message = messageOf(error);
    throw new AdapterError(`verification failed: ${options.redactor ? options.redactor.redact(message) : message}`, {
      cause: error,
      retryable: true,
    });
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

async function prepare(
  options: VerifyOptions,
  source: SessionPool,
  target: SessionPool,
  schemaDifferences: SchemaDifference[],
  notes: string[],
): Promise<Prepared[]> {
  const only = options.onlyChunks;
  let tables: TableName[];
  if (options.tables && options.tables.length > 0) {
    tables = [...new Map(options.tables.map((table) => [formatTable(table), table])).values()];
  } else if (only) {
    tables = Object.keys(only).map((label) => parseTableName(label, 'onlyChunks'));
  } else {
    const excluded = options.excludeSchemas ?? [HANDOFF_SCHEMA];
    const [onSource, onTarget] = await Promise.all([
      source.use((client) => listUserTables(client, excluded)),
      target.use((client) => listUserTables(client, excluded)),
    ]);
    tables = onSource;
    const known = new Set(onSource.map(formatTable));
    for (const table of onTarget) {
      const label = formatTable(table);
      if (!known.has(label)) {
        schemaDifferences.push({
          table: label,
          kind: 'table-missing-on-source',
          message: `${label} exists on the target but not on the source`,
        });
      }
    }
    if (tables.length === 0) notes.push('the source has no tables outside the system schemas');
  }

  const shapes: Array<[TableShape, TableShape | null]> = [];
  for (const table of tables) {
    const [s, t] = await Promise.all([
      source.use((c) => readTableShape(c, table)),
      target.use((c) => readTableShape(c, table)),
    ]);
    if (!s) throw new InputError(`table ${formatTable(table)} does not exist on the source (or is not a table)`);
    shapes.push([s, t]);
  }
  const plans: Array<{ plan: TablePlan; notes: string[] }> = [];
  for (const [s, t] of shapes) {
    const result = planTable(s, t);
    schemaDifferences.push(...result.differences);
    if (result.plan) plans.push({ plan: result.plan, notes: result.notes });
  }
  const sourceTypes = plans.flatMap((p) => p.plan.columns.map((column) => column.sourceType));
  const targetTypes = plans.flatMap((p) => p.plan.columns.map((column) => column.targetType));
  const [functionsSource, functionsTarget] = await Promise.all([
    source.use((client) => hashFunctions(client, sourceTypes)),
    target.use((client) => hashFunctions(client, targetTypes)),
  ]);
  const functions = new Map([...functionsSource].filter(([type, fn]) => functionsTarget.get(type) === fn));
  return plans.map(({ plan, notes: tableNotes }) => {
    const selection = only?.[plan.label];
    return {
      plan,
      hash: rowHashExpression(plan, { functions }),
      columnHashes: columnHashExpressions(plan, { functions }),
      notes: tableNotes,
      ...(selection ? { only: selection } : {}),
    };
  });
}

/**
 * The re-check rounds' differing keys, looked at once more where lag cannot pass for divergence
 * (`settleMovingKeys`): in place, each table keeps only the keys that diverged, with a note of those
 * that matched once the target caught up and those the source was still rewriting. A table compared
 * whole, or whose lists were cut off at their bound, is left as it is.
 */
async function settleMoving(
  reports: TableReport[],
  prepared: readonly Prepared[],
  source: SessionPool,
  target: SessionPool,
  rounds: number,
  catchUp: () => Promise<void>,
): Promise<void> {
  const indexes = reports.flatMap((report, i) =>
    report.method === 'chunked' &&
    !report.truncated &&
    report.missing.length + report.extra.length + report.changed.length > 0
      ? [i]
      : [],
  );
  if (indexes.length === 0) return;
  const settled = await settleMovingKeys({
    source,
    target,
    rounds,
    catchUp,
    tables: indexes.map((i) => {
      const report = reports[i] as TableReport;
      const item = prepared[i] as Prepared;
      return {
        plan: item.plan,
        hash: item.hash,
        missing: report.missing,
        extra: report.extra,
        changed: report.changed,
      };
    }),
  });
  indexes.forEach((index, n) => {
    const report = reports[index] as TableReport;
    const result = settled[n] as MovingKeysResult;
    const changed = new Set(result.changed.map((key) => JSON.stringify(key)));
    const notes = [...report.notes];
    if (result.caughtUp > 0)
      notes.push(
        `${report.table}: ${result.caughtUp} differing row(s) matched once the target caught up with the source as read (replication lag, not divergence)`,
      );
    if (result.stillMoving > 0)
      notes.push(
        `${report.table}: ${result.stillMoving} differing row(s) were still being rewritten on the source after ${rounds} look(s); the cutover re-checks them under the fence`,
      );
    reports[index] = {
      ...report,
      missing: result.missing,
      extra: result.extra,
      changed: result.changed,
      changedColumns: report.changedColumns.filter((entry) => changed.has(JSON.stringify(entry.key))),
      notes,
    };
  });
}

/** After a recheck: the rechecked chunks replace their earlier results; differences are the new ones. */
function merge(before: TableReport, after: TableReport, round: number): TableReport {
  const replaced = new Map(after.chunkDetails.map((chunk) => [chunk.id, chunk]));
  const chunkDetails = before.chunkDetails.map((chunk) => replaced.get(chunk.id) ?? chunk);
  const mismatchedChunks = chunkDetails.filter((chunk) => !chunk.matched).length;
  const settled = before.mismatchedChunks - after.mismatchedChunks;
  return {
    ...before,
    chunkDetails,
    mismatchedChunks,
    identical: mismatchedChunks === 0,
    sourceRows: chunkDetails.reduce((sum, chunk) => sum + chunk.sourceRows, 0),
    targetRows: chunkDetails.reduce((sum, chunk) => sum + chunk.targetRows, 0),
    missing: after.missing,
    extra: after.extra,
    changed: after.changed,
    changedColumns: after.changedColumns,
    truncated: after.truncated,
    notes: [
      ...before.notes,
      `${before.table}: recheck ${round}: ${before.mismatchedChunks} mismatching chunk(s) compared again after the target caught up; ${settled} now match`,
    ],
    elapsedMs: before.elapsedMs + after.elapsedMs,
  };
}

function positive(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InputError(`${what}: ${value} is not a positive whole number`);
  return value;
}

async function bounded(wait: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`the target did not catch up within ${ms} ms (recheck)`)), ms);
  });
  try {
    await Promise.race([wait, timeout, ...(signal ? [abortPromise(signal)] : [])]);
  } finally {
    clearTimeout(timer);
  }
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
