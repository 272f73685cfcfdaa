/**
 * Chunk boundaries for a table, computed on the source: the keys that cut it into chunks of about
 * `chunkRows` rows. Small tables: every Nth key in key order (exact). Large tables: keys from a
 * block sample (TABLESAMPLE SYSTEM, repeatable), sorted by the server in key order, cut at even
 * quantiles, so boundaries cost a few percent of the table instead of a scan of its key index.
 * Chunk sizes are then approximate, which only matters for balance. The sample takes 8 blocks or
 * 64 rows per chunk, whichever is less, and never more than a tenth of the table's blocks: with many
 * small chunks (the throttle shrinks them) fewer blocks per chunk are sampled, rather than falling
 * back to the exact method, whose one statement reads the whole key index unpaced (12 s for the
 * 20 M-row `order_events` of the 10 M-order demo).
 */
import type pg from 'pg';
import { tableSize } from './catalog.js';
import { keyColumns, keyOf, keyText } from './sql.js';
import type { TablePlan } from './table-plan.js';
import type { Key } from './types.js';

/** Tables up to this many rows get exact boundaries. */
const EXACT_UP_TO_ROWS = 200_000;
/** Sampled blocks per chunk: more gives evener chunks, fewer a cheaper sample. */
const BLOCKS_PER_CHUNK = 8;
/** Sampled rows per chunk: enough for even quantiles; narrow rows reach it in less than 8 blocks. */
const ROWS_PER_CHUNK = 64;
/** The most of a large table's blocks the sample reads (percent). */
const MAX_SAMPLE_PERCENT = 10;

export interface Boundaries {
  keys: Key[];
  /** How they were found, for notes. */
  method: 'none' | 'exact' | 'sample';
}

export async function chunkBoundaries(client: pg.ClientBase, plan: TablePlan, chunkRows: number): Promise<Boundaries> {
  const size = await tableSize(client, plan.table);
  let rows = size.rows;
  if (rows < 0 || plan.kind === 'partitioned') {
    const counted = await client.query<{ n: string }>(`select count(*)::text as n from ${plan.sql}`);
    rows = Number(counted.rows[0]?.n ?? 0);
  }
  if (rows <= chunkRows) return { keys: [], method: 'none' };
  const chunks = Math.ceil(rows / chunkRows);
  if (rows <= EXACT_UP_TO_ROWS || plan.kind === 'partitioned' || size.pages === 0) {
    return { keys: await everyNthKey(client, plan, chunkRows), method: 'exact' };
  }
  // The smaller of 8 blocks and 64 rows per chunk, at most a tenth of the table: the sample's rows
  // are sorted, and 10 % of the 20 M-row `order_events` (2 M rows) took 7 s to sample and sort.
  const percent = Math.min(
    MAX_SAMPLE_PERCENT,
    (100 * BLOCKS_PER_CHUNK * chunks) / size.pages,
    (100 * ROWS_PER_CHUNK * chunks) / rows,
  );
  const sampled = await client.query<Record<string, unknown>>(
    `select ${keyText(plan)}, (ctid::text::point)[0]::int8::text as handoff_block
       from ${plan.sql} tablesample system ($1) repeatable (7) order by ${keyColumns(plan)}`,
    [percent],
  );
  const keys: Key[] = [];
  const n = sampled.rows.length;
  let last = '';
  let lastBlock: unknown = null;
  for (let i = 1; i < chunks; i++) {
    const row = sampled.rows[Math.floor((i * n) / chunks)];
    if (!row) continue;
    // Keys stored in their order: one sampled block holds a run of neighbouring keys, and cuts
    // inside it would make chunks of a few rows beside the long runs the sample skipped. One cut
    // per sampled block; keys in no physical order are unaffected.
    if (row.handoff_block === lastBlock) continue;
    const key = keyOf(row, plan);
    const id = JSON.stringify(key);
    if (id !== last) keys.push(key);
    last = id;
    lastBlock = row.handoff_block;
  }
  if (keys.length === 0) return { keys: await everyNthKey(client, plan, chunkRows), method: 'exact' };
  return { keys, method: 'sample' };
}

async function everyNthKey(client: pg.ClientBase, plan: TablePlan, chunkRows: number): Promise<Key[]> {
  const result = await client.query<Record<string, unknown>>(
    `select ${plan.key.map((_, i) => `k${i}`).join(', ')} from (
       select ${keyText(plan)}, row_number() over (order by ${keyColumns(plan)}) as rn from ${plan.sql}) s
      where rn > 1 and (rn - 1) % $1 = 0 order by rn`,
    [chunkRows],
  );
  return result.rows.map((row) => keyOf(row, plan));
}
