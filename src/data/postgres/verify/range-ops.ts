/**
 * The queries verification runs against one side for one key range. All hashing happens in SQL:
 * Node only ever sees counts, aggregate hashes, and (for small leaf ranges) one hash per row.
 */
import type pg from 'pg';
import { keyColumns, keyIn, keyOf, keyText, keyTextArray, rangeCondition } from './sql.js';
import type { TablePlan } from './table-plan.js';
import type { Key, KeyRange } from './types.js';

export interface Aggregate {
  rows: number;
  /** sum of the 64-bit row hashes, exact (numeric), as decimal text. Order-independent. */
  hash: string;
}

export function sameAggregate(a: Aggregate, b: Aggregate): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}

/** Count and hash of the rows in a range. */
export async function aggregate(
  client: pg.ClientBase,
  plan: TablePlan,
  hash: string,
  range: KeyRange,
): Promise<Aggregate> {
  const params: unknown[] = [];
  const where = rangeCondition(plan, range, params);
  const result = await client.query<{ n: string; h: string }>(
    `select count(*)::text as n, coalesce(sum(${hash}), 0)::text as h from ${plan.sql} where ${where}`,
    params,
  );
  const row = result.rows[0];
  return { rows: Number(row?.n ?? 0), hash: row?.h ?? '0' };
}

/**
 * Count and hash of each sub-range of `range` cut at `bounds` (ascending keys inside the range),
 * in one scan: bounds.length + 1 results, in key order.
 */
export async function aggregateSplit(
  client: pg.ClientBase,
  plan: TablePlan,
  hash: string,
  range: KeyRange,
  bounds: readonly Key[],
): Promise<Aggregate[]> {
  const params: unknown[] = [];
  const where = rangeCondition(plan, range, params);
  const cases = bounds.map((bound, i) => {
    const condition = rangeCondition(plan, { lower: null, upper: bound }, params);
    return `when ${condition} then ${i}`;
  });
  const bucket = cases.length ? `case ${cases.join(' ')} else ${bounds.length} end` : '0';
  const result = await client.query<{ b: number; n: string; h: string }>(
    `select ${bucket} as b, count(*)::text as n, coalesce(sum(${hash}), 0)::text as h
       from ${plan.sql} where ${where} group by 1`,
    params,
  );
  const out: Aggregate[] = Array.from({ length: bounds.length + 1 }, () => ({ rows: 0, hash: '0' }));
  for (const row of result.rows) out[Number(row.b)] = { rows: Number(row.n), hash: row.h };
  return out;
}

/** Keys that cut a range of about `rows` rows into `parts` nearly equal parts, in key order. */
export async function splitKeys(
  client: pg.ClientBase,
  plan: TablePlan,
  range: KeyRange,
  rows: number,
  parts: number,
): Promise<Key[]> {
  const step = Math.max(1, Math.ceil(rows / parts));
  const params: unknown[] = [];
  const where = rangeCondition(plan, range, params);
  params.push(step);
  const result = await client.query<Record<string, unknown>>(
    `select ${plan.key.map((_, i) => `k${i}`).join(', ')} from (
       select ${keyText(plan)}, row_number() over (order by ${keyColumns(plan)}) as rn
         from ${plan.sql} where ${where}) s
      where rn > 1 and (rn - 1) % $${params.length} = 0
      order by rn`,
    params,
  );
  return result.rows.map((row) => keyOf(row, plan));
}

/** Every row of a small range as (key, row hash), in key order. */
export async function rowHashes(
  client: pg.ClientBase,
  plan: TablePlan,
  hash: string,
  range: KeyRange,
): Promise<Array<{ key: Key; hash: string }>> {
  const params: unknown[] = [];
  const where = rangeCondition(plan, range, params);
  const result = await client.query<Record<string, unknown>>(
    `select ${keyText(plan)}, (${hash})::text as h from ${plan.sql} where ${where} order by ${keyColumns(plan)}`,
    params,
  );
  return result.rows.map((row) => ({ key: keyOf(row, plan), hash: String(row.h) }));
}

/** Up to `limit` keys of a range, in key order. */
export async function keysIn(client: pg.ClientBase, plan: TablePlan, range: KeyRange, limit: number): Promise<Key[]> {
  const params: unknown[] = [];
  const where = rangeCondition(plan, range, params);
  params.push(limit);
  const result = await client.query<Record<string, unknown>>(
    `select ${keyText(plan)} from ${plan.sql} where ${where} order by ${keyColumns(plan)} limit $${params.length}`,
    params,
  );
  return result.rows.map((row) => keyOf(row, plan));
}

/** Keys in one `rowHashesForTables` statement, at most (the cutover's re-check packs its tables' keys to it). */
export const KEYS_PER_STATEMENT = 5_000;

/**
 * The statements to read `items`' keys in: each item's keys in parts of at most `batch` (a part is
 * the item with a slice of its keys), consecutive parts grouped so that no statement has more than
 * `batch` keys.
 */
export function packKeys<T extends { keys: readonly Key[] }>(
  items: readonly T[],
  batch: number = KEYS_PER_STATEMENT,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    for (let i = 0; i < item.keys.length; i += batch) {
      const part = { ...item, keys: item.keys.slice(i, i + batch) };
      if (current.length > 0 && size + part.keys.length > batch) {
        out.push(current);
        current = [];
        size = 0;
      }
      current.push(part);
      size += part.keys.length;
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * (key, row hash) of the rows with these keys that exist, for several tables in one statement (one
 * round trip, where one per table made the cutover's write pause longer): the rows found for
 * `items[i]` are in the i-th list, in no particular order.
 */
export async function rowHashesForTables(
  client: pg.ClientBase,
  items: ReadonlyArray<{ plan: TablePlan; hash: string; keys: readonly Key[] }>,
): Promise<Array<Array<{ key: Key; hash: string }>>> {
  const out: Array<Array<{ key: Key; hash: string }>> = items.map(() => []);
  const params: unknown[] = [];
  const parts = items.flatMap(({ plan, hash, keys }, i) => {
    if (keys.length === 0) return [];
    return [
      `(select ${i} as t, ${keyTextArray(plan)} as k, (${hash})::text as h from ${plan.sql} where ${keyIn(plan, keys, params)})`,
    ];
  });
  if (parts.length === 0) return out;
  const result = await client.query<{ t: number; k: string[]; h: unknown }>(parts.join(' union all '), params);
  for (const row of result.rows) out[row.t]?.push({ key: row.k, hash: String(row.h) });
  return out;
}

/** Per key, the hash of each compared column (in `columnHashes` order), for the rows that exist. */
export async function columnHashesForKeys(
  client: pg.ClientBase,
  plan: TablePlan,
  columnHashes: readonly string[],
  keys: readonly Key[],
): Promise<Map<string, string[]>> {
  if (keys.length === 0 || columnHashes.length === 0) return new Map();
  const params: unknown[] = [];
  const result = await client.query<Record<string, unknown>>(
    `select ${keyText(plan)}, array[${columnHashes.join(', ')}]::text[] as hs from ${plan.sql} where ${keyIn(plan, keys, params)}`,
    params,
  );
  return new Map(result.rows.map((row) => [JSON.stringify(keyOf(row, plan)), (row.hs as string[]) ?? []]));
}
