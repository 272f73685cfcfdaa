/**
 * The one re-check of dirty keys (cutover's final check under the fence, and the settling before the
 * hold): compare only the keys that changed since the last clean pass (the dirty keys the
 * replication side tracks), one row hash per key on each side, with the same type-aware hashing as
 * the chunked comparison. `'all'` (a TRUNCATE, or no primary key) compares the whole table with
 * `verifyTables`.
 */
import type pg from 'pg';
import type { DirtyDifference, DirtyRecheck } from '../options.js';
import { formatTable, type TableName } from '../connect.js';
import { hashFunctions, readTableShapes } from './catalog.js';
import { KEYS_PER_STATEMENT, packKeys, rowHashesForTables } from './range-ops.js';
import { planTable, rowHashExpression, type TablePlan } from './table-plan.js';
import type { Key } from './types.js';
import { verifyTables } from './verify-tables.js';

export const recheckKeys: DirtyRecheck = async ({ source, target, table, keys }) => {
  const [found] = await recheckTables({ source, target, tables: [{ table, keys }] });
  if (!found) throw new Error('recheckTables returned nothing for one table');
  return found;
};

/**
 * What a re-check reads from the catalogs before it hashes: each table's comparison plan (from its
 * shape on both sides; none when the table must be compared whole) and the hash function per type
 * that both sides agree on. Read once for all the tables: two round trips per side, at once.
 */
export interface RecheckCatalog {
  /** The tables read (`formatTable`), with a plan or without one (compared whole). */
  tables: ReadonlySet<string>;
  plans: ReadonlyMap<string, TablePlan>;
  functions: ReadonlyMap<string, string>;
}

export async function readRecheckCatalog(
  source: pg.Client,
  target: pg.Client,
  tables: readonly TableName[],
): Promise<RecheckCatalog> {
  const [sourceShapes, targetShapes] = await Promise.all([
    readTableShapes(source, tables),
    readTableShapes(target, tables),
  ]);
  const plans = new Map<string, TablePlan>();
  tables.forEach((table, i) => {
    const s = sourceShapes[i];
    const t = targetShapes[i];
    const { plan } = s ? planTable(s, t ?? null) : { plan: null };
    if (s && t && plan && plan.key.length > 0) plans.set(formatTable(table), plan);
  });
  const planned = [...plans.values()];
  const [functionsSource, functionsTarget] = await Promise.all([
    hashFunctions(
      source,
      planned.flatMap((plan) => plan.columns.map((column) => column.sourceType)),
    ),
    hashFunctions(
      target,
      planned.flatMap((plan) => plan.columns.map((column) => column.targetType)),
    ),
  ]);
  const functions = new Map([...functionsSource].filter(([type, fn]) => functionsTarget.get(type) === fn));
  return { tables: new Set(tables.map(formatTable)), plans, functions };
}

/**
 * `recheckKeys` for several tables at once, in their order. The catalogs are read once per side for
 * all of them (`readRecheckCatalog`), or not at all when `catalog` already covers every table (the
 * cutover reads it before the hold), then one hash query per side for all their keys (per 5,000
 * keys): under the cutover's fence every round trip is write pause.
 */
export async function recheckTables(input: {
  source: pg.Client;
  target: pg.Client;
  tables: ReadonlyArray<{ table: TableName; keys: string[][] | 'all' }>;
  catalog?: RecheckCatalog | undefined;
  /**
   * Background use (before the hold): keys per statement (KEYS_PER_STATEMENT by default), one site
   * read after the other, and a wait after each pair, told how long the pair took (the work yields
   * to the service in between, and never keeps a core busy on both servers at once: on the demo's
   * 2 cores, both sites hashing at the same time left the service none).
   */
  pace?: { keysPerStatement: number; after: (ms: number) => Promise<void> };
}): Promise<DirtyDifference[]> {
  const { source, target, tables } = input;
  const batch = Math.max(1, Math.min(KEYS_PER_STATEMENT, input.pace?.keysPerStatement ?? KEYS_PER_STATEMENT));
  // The catalog of the tables compared key by key ('all' needs none).
  const keyed = tables.filter((entry) => entry.keys !== 'all').map((entry) => entry.table);
  const given = input.catalog;
  const catalog =
    given && keyed.every((table) => given.tables.has(formatTable(table)))
      ? given
      : await readRecheckCatalog(source, target, keyed);
  const functions = catalog.functions;
  const out: DirtyDifference[] = [];
  // The keyed tables' keys in statements of at most `batch` keys (`packKeys`): one round trip per
  // side for all the tables when their keys fit (the cutover's case).
  const chunks: Chunk[] = [];
  for (const [index, { table, keys }] of tables.entries()) {
    const plan = keys === 'all' ? undefined : catalog.plans.get(formatTable(table));
    if (keys === 'all' || !plan) {
      out[index] = await wholeTable(source, target, table, formatTable(table));
      continue;
    }
    const found: DirtyDifference = { table: plan.label, missing: [], extra: [], changed: [], wholeTable: false };
    out[index] = found;
    const hash = rowHashExpression(plan, { functions });
    const unique = [
      ...new Map(
        keys.filter((key) => key.length === plan.key.length).map((key) => [JSON.stringify(key), key]),
      ).values(),
    ];
    chunks.push({ plan, hash, keys: unique, found });
  }
  for (const pack of packKeys(chunks, batch)) {
    const started = Date.now();
    const [onSource, onTarget] = input.pace
      ? [await rowHashesForTables(source, pack), await rowHashesForTables(target, pack)]
      : await Promise.all([rowHashesForTables(source, pack), rowHashesForTables(target, pack)]);
    pack.forEach((chunk, i) => classify(chunk, onSource[i] ?? [], onTarget[i] ?? []));
    await input.pace?.after(Date.now() - started);
  }
  return out;
}

interface Chunk {
  plan: TablePlan;
  hash: string;
  keys: Key[];
  /** The table's result, which this chunk's differences are added to. */
  found: DirtyDifference;
}

/** Adds a chunk's missing, extra and changed keys (in the order it lists them) to its table's result. */
function classify(
  chunk: Chunk,
  onSource: ReadonlyArray<{ key: Key; hash: string }>,
  onTarget: ReadonlyArray<{ key: Key; hash: string }>,
): void {
  const a = new Map(onSource.map((row) => [JSON.stringify(row.key), row.hash]));
  const b = new Map(onTarget.map((row) => [JSON.stringify(row.key), row.hash]));
  for (const key of chunk.keys) {
    const id = JSON.stringify(key);
    const x = a.get(id);
    const y = b.get(id);
    if (x !== undefined && y === undefined) chunk.found.missing.push(key);
    else if (x === undefined && y !== undefined) chunk.found.extra.push(key);
    else if (x !== y) chunk.found.changed.push(key);
  }
}

async function wholeTable(
  source: pg.Client,
  target: pg.Client,
  table: DirtyInput['table'],
  label: string,
): Promise<DirtyDifference> {
  const report = await verifyTables({ source, target, tables: [table], concurrency: 1 });
  const found = report.tables[0];
  const out: DirtyDifference = {
    table: label,
    missing: found?.missing ?? [],
    extra: found?.extra ?? [],
    changed: found?.changed ?? [],
    wholeTable: true,
  };
  // A difference that could not be located (no key, or the schemas differ) still has to fail the check.
  if (!report.identical && out.missing.length + out.extra.length + out.changed.length === 0) out.changed.push([]);
  return out;
}

type DirtyInput = Parameters<DirtyRecheck>[0];
