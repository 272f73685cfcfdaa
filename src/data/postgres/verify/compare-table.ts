/**
 * Compares one table on the two sides: chunk it by primary-key ranges (boundaries from the
 * source), hash every chunk on both sides concurrently, and localise the chunks that differ to
 * their exact keys. Tables without a usable key are compared whole.
 */
import type { Pacer } from '../../throttle/pacer.js';
import { chunkBoundaries } from './boundaries.js';
import { emptyDifferences, localise, type Differences } from './localise.js';
import { aggregate, columnHashesForKeys, sameAggregate, type Aggregate } from './range-ops.js';
import type { SessionPool } from './session-pool.js';
import type { TablePlan } from './table-plan.js';
import type { ChunkReport, Key, KeyRange, TableReport, VerifyProgress } from './types.js';

/** A chunk to compare: its range and the id it has in the pass that named it. */
export interface ChunkSelection extends KeyRange {
  id: number;
}

export interface CompareTableOptions {
  chunkRows: number;
  concurrency: number;
  leafRows: number;
  fanout: number;
  maxDifferences: number;
  signal?: AbortSignal;
  onProgress?: (progress: VerifyProgress) => void;
  /** Compare only these chunks (from an earlier report's `chunkDetails`) instead of the whole table. */
  only?: readonly ChunkSelection[];
  notes?: readonly string[];
  /** Per-column hash expressions (plan.columns order), to name the columns of changed rows. */
  columnHashes?: readonly string[];
  /** Paces the chunks by the service's health: each waits for `ready()`; boundaries use its chunk size. */
  pacer?: Pacer;
}

/** Changed rows whose differing columns are named, per table. */
const DESCRIBE_CHANGED = 100;

export async function compareTable(
  plan: TablePlan,
  hash: string,
  source: SessionPool,
  target: SessionPool,
  options: CompareTableOptions,
): Promise<TableReport> {
  const started = Date.now();
  const notes = [...(options.notes ?? [])];
  let chunks: ChunkSelection[];
  if (plan.key.length === 0) {
    chunks = [{ id: 0, lower: null, upper: null }];
  } else if (options.only) {
    chunks = [...options.only];
  } else {
    const chunkRows = options.pacer
      ? Math.min(options.chunkRows, await options.pacer.ready(options.signal))
      : options.chunkRows;
    const boundaries = await source.use((client) => chunkBoundaries(client, plan, chunkRows));
    chunks = rangesFrom(boundaries.keys);
  }
  const details: ChunkReport[] = new Array<ChunkReport>(chunks.length);
  const differences: Differences[] = chunks.map(() => emptyDifferences());
  const budget = { left: options.maxDifferences, truncated: false };
  const localiseContext = {
    plan,
    hash,
    source,
    target,
    leafRows: options.leafRows,
    fanout: options.fanout,
    budget,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let next = 0;
  let done = 0;
  let rowsDone = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      options.signal?.throwIfAborted();
      const index = next++;
      const chunk = chunks[index];
      if (!chunk) return;
      const range: KeyRange = { lower: chunk.lower, upper: chunk.upper };
      if (options.pacer) await options.pacer.ready(options.signal);
      const chunkStarted = Date.now();
      const [s, t] = await Promise.all([
        source.use((client) => aggregate(client, plan, hash, range)),
        target.use((client) => aggregate(client, plan, hash, range)),
      ]);
      const chunkMs = Date.now() - chunkStarted;
      options.pacer?.chunkDone(Math.max(s.rows, t.rows), chunkMs);
      const matched = sameAggregate(s, t);
      details[index] = chunkReport(chunk, s, t, matched);
      if (!matched && plan.key.length > 0) {
        await localise(localiseContext, range, s, t, differences[index] as Differences);
      }
      done++;
      rowsDone += Math.max(s.rows, t.rows);
      options.onProgress?.({ table: plan.label, chunksDone: done, chunksTotal: chunks.length, rowsDone });
      await options.pacer?.rest(chunkMs, options.signal);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, chunks.length)) }, worker));

  const all = emptyDifferences();
  for (const found of differences) {
    all.missing.push(...found.missing);
    all.extra.push(...found.extra);
    all.changed.push(...found.changed);
  }
  const mismatchedChunks = details.filter((chunk) => !chunk.matched).length;
  if (budget.truncated) {
    notes.push(`${plan.label}: more than ${options.maxDifferences} differing rows; the key lists are incomplete`);
  }
  if (
    plan.key.length > 0 &&
    mismatchedChunks > 0 &&
    all.missing.length + all.extra.length + all.changed.length === 0 &&
    !budget.truncated
  ) {
    notes.push(
      `${plan.label}: chunk hashes differed but no differing row was found on a second look; the data changed during the comparison`,
    );
  }
  const changedColumns =
    options.columnHashes && all.changed.length > 0
      ? await describeChanged(plan, options.columnHashes, source, target, all.changed.slice(0, DESCRIBE_CHANGED))
      : [];
  return {
    table: plan.label,
    sourceRows: details.reduce((sum, chunk) => sum + chunk.sourceRows, 0),
    targetRows: details.reduce((sum, chunk) => sum + chunk.targetRows, 0),
    chunks: chunks.length,
    mismatchedChunks,
    missing: all.missing,
    extra: all.extra,
    changed: all.changed,
    changedColumns,
    identical: mismatchedChunks === 0,
    method: plan.key.length === 0 ? 'whole-table' : 'chunked',
    primaryKey: plan.key.map((column) => column.name),
    columns: plan.columns.map((column) => column.name),
    truncated: budget.truncated,
    partial: options.only !== undefined,
    notes,
    elapsedMs: Date.now() - started,
    chunkDetails: details,
  };
}

/** Names the columns that differ in each changed row: one hash per column, both sides, in SQL. */
async function describeChanged(
  plan: TablePlan,
  columnHashes: readonly string[],
  source: SessionPool,
  target: SessionPool,
  keys: Key[],
): Promise<Array<{ key: Key; columns: string[] }>> {
  const [a, b] = await Promise.all([
    source.use((client) => columnHashesForKeys(client, plan, columnHashes, keys)),
    target.use((client) => columnHashesForKeys(client, plan, columnHashes, keys)),
  ]);
  return keys.map((key) => {
    const id = JSON.stringify(key);
    const x = a.get(id) ?? [];
    const y = b.get(id) ?? [];
    return { key, columns: plan.columns.filter((_, i) => x[i] !== y[i]).map((column) => column.name) };
  });
}

/** Chunks from ascending boundaries: (-inf, b1), [b1, b2), ..., [bn, +inf). */
export function rangesFrom(boundaries: readonly Key[]): ChunkSelection[] {
  const out: ChunkSelection[] = [];
  for (let i = 0; i <= boundaries.length; i++) {
    out.push({
      id: i,
      lower: i === 0 ? null : (boundaries[i - 1] as Key),
      upper: i === boundaries.length ? null : (boundaries[i] as Key),
    });
  }
  return out;
}

function chunkReport(chunk: ChunkSelection, s: Aggregate, t: Aggregate, matched: boolean): ChunkReport {
  return {
    id: chunk.id,
    lower: chunk.lower,
    upper: chunk.upper,
    sourceRows: s.rows,
    targetRows: t.rows,
    sourceHash: s.hash,
    targetHash: t.hash,
    matched,
  };
}
