/**
 * One table's initial copy in primary-key order, chunk by chunk: each chunk is a
 * `COPY (SELECT ... WHERE (pk) > (last) AND (pk) <= (upper) ORDER BY pk) TO STDOUT` on the source
 * session (inside the exported snapshot's transaction) piped into `COPY t (cols) FROM STDIN` on the
 * target, which commits it on its own: a pause between chunks loses nothing. The chunk's upper key
 * is read first (`OFFSET rows - 1` in key order), so the chunk holds exactly that many rows and the
 * next one starts after it. A table without a primary key is copied in one COPY.
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { quoteTable, type TableName } from '../connect.js';

export interface CopyColumn {
  name: string;
  /** format_type() of the column, to cast key literals. */
  type: string;
}

export interface TableCopyPlan {
  table: TableName;
  /** Columns copied (generated columns left out), in attribute order. */
  columns: CopyColumn[];
  /** Primary key columns in key order; empty: one COPY of the whole table. */
  key: CopyColumn[];
  /** A partitioned root: read through it (its partitions' rows); other tables are read ONLY. */
  partitioned: boolean;
}

export interface ChunkPace {
  /** Resolves with the rows the next chunk should have (it may pause first). */
  next(): Promise<number>;
  done(rows: number, durationMs: number): void;
}

export interface TableCopyResult {
  rows: number;
  chunks: number;
}

const ident = (name: string): string => pg.escapeIdentifier(name);

/** `(a, b)` of the key columns. */
function keyTuple(key: readonly CopyColumn[]): string {
  return `(${key.map((c) => ident(c.name)).join(', ')})`;
}

/** `('1'::bigint, 'x'::text)`: a key read as text, back as literals of the columns' types. */
function keyLiteral(key: readonly CopyColumn[], values: readonly string[]): string {
  return `(${key.map((c, i) => `${pg.escapeLiteral(values[i] ?? '')}::${c.type}`).join(', ')})`;
}

/**
 * The leading key column's own bound (`a >= x`, `a <= y`), implied by the row comparison with the
 * same key, so the rows are the same: alone, `(a, b) > (x, y) AND (a, b) <= (u, v)` is estimated as
 * if the two bounds were independent (a large share of the table), and each chunk of a two-column
 * key became a parallel sequential scan of the whole table and a sort (at 10 M orders, 20 M events:
 * seconds per 50,000-row chunk, two parallel workers beside the service). With it, an index range
 * scan. Empty for a one-column key (its comparison is already a plain range).
 */
function leadingBound(key: readonly CopyColumn[], operator: '>=' | '<=', values: readonly string[]): string {
  if (key.length < 2) return '';
  const first = key[0] as CopyColumn;
  return ` AND ${ident(first.name)} ${operator} ${pg.escapeLiteral(values[0] ?? '')}::${first.type}`;
}

/** The SQL of one chunk: its upper key's query, and its rows' COPY once that key is known. */
export interface ChunkSql {
  /** The key of the chunk's last row (`OFFSET size - 1` in key order), as text; no row: the last chunk. */
  upper(size: number): string;
  /** The rows after `last` up to `bound` (null: to the end), in key order. */
  rows(bound: readonly string[] | null): string;
}

/** The chunk after the key `last` (null: the first chunk) of a table with a primary key. */
export function chunkSql(plan: TableCopyPlan, last: readonly string[] | null): ChunkSql {
  const read = `${plan.partitioned ? '' : 'ONLY '}${quoteTable(plan.table)}`;
  const cols = plan.columns.map((c) => ident(c.name)).join(', ');
  const tuple = keyTuple(plan.key);
  // Column by column: ORDER BY (a, b) would sort by a row value, which no index serves.
  const order = plan.key.map((c) => ident(c.name)).join(', ');
  // Aliased: an output column named like a key column would be what ORDER BY sorts by (its text form).
  const textKey = plan.key.map((c, i) => `${ident(c.name)}::text as k${i}`).join(', ');
  const after =
    last === null ? 'true' : `${tuple} > ${keyLiteral(plan.key, last)}${leadingBound(plan.key, '>=', last)}`;
  return {
    upper: (size) => `SELECT ${textKey} FROM ${read} WHERE ${after} ORDER BY ${order} OFFSET ${size - 1} LIMIT 1`,
    rows(bound) {
      const upTo =
        bound === null ? '' : ` AND ${tuple} <= ${keyLiteral(plan.key, bound)}${leadingBound(plan.key, '<=', bound)}`;
      return `SELECT ${cols} FROM ${read} WHERE ${after}${upTo} ORDER BY ${order}`;
    },
  };
}

/**
 * Copies the table. `source` must already be inside the snapshot's transaction; `target` commits
 * each chunk (autocommit). `onChunk` is told the rows copied so far after each chunk.
 */
export async function copyTableInChunks(
  plan: TableCopyPlan,
  sessions: { source: pg.Client; target: pg.Client },
  pace: ChunkPace,
  onChunk: (rowsSoFar: number) => void,
): Promise<TableCopyResult> {
  const table = quoteTable(plan.table);
  const read = `${plan.partitioned ? '' : 'ONLY '}${table}`;
  const cols = plan.columns.map((c) => ident(c.name)).join(', ');
  const into = `COPY ${table} (${cols}) FROM STDIN`;
  if (plan.key.length === 0) {
    const rows = await copyChunk(sessions, `COPY (SELECT ${cols} FROM ${read}) TO STDOUT`, into);
    onChunk(rows);
    return { rows, chunks: 1 };
  }
  let last: string[] | null = null;
  let rows = 0;
  let chunks = 0;
  for (;;) {
    const size = Math.max(1, Math.floor(await pace.next()));
    const sql = chunkSql(plan, last);
    const started = Date.now();
    const upper: pg.QueryArrayResult<string[]> = await sessions.source.query({
      text: sql.upper(size),
      rowMode: 'array',
    });
    const bound: string[] | null = upper.rows[0] ?? null;
    const copied = await copyChunk(sessions, `COPY (${sql.rows(bound)}) TO STDOUT`, into);
    pace.done(copied, Date.now() - started);
    rows += copied;
    chunks++;
    onChunk(rows);
    if (bound === null) return { rows, chunks };
    last = bound;
  }
}

/** One COPY out of the source piped into one COPY into the target; returns the rows. */
async function copyChunk(
  sessions: { source: pg.Client; target: pg.Client },
  out: string,
  into: string,
): Promise<number> {
  const reader = sessions.source.query(copyTo(out));
  const writer = sessions.target.query(copyFrom(into));
  await pipeline(reader, writer);
  return writer.rowCount;
}
