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
import { rowHashesForKeys } from './range-ops.js';
import { planTable, rowHashExpression, type TablePlan } from './table-plan.js';
import type { Key } from './types.js';
import { verifyTables } from './verify-tables.js';

/** Keys per statement. */
const BATCH = 5_000;

export const recheckKeys: DirtyRecheck = async ({ source, target, table, keys }) => {
  const [found] = await recheckTables({ source, target, tables: [{ table, keys }] });
  if (!found) throw new Error('recheckTables returned nothing for one table');
  return found;
};

/**
 * `recheckKeys` for several tables at once, in their order. The catalogs are read once per side for
 * all of them (shapes, then hash functions: two round trips, not two per table), then one hash
 * query per side per table and batch: under the cutover's fence every round trip is write pause.
 */
export async function recheckTables(input: {
  source: pg.Client;
  target: pg.Client;
  tables: ReadonlyArray<{ table: TableName; keys: string[][] | 'all' }>;
}): Promise<DirtyDifference[]> {
  const { source, target, tables } = input;
  // The shapes of the tables compared key by key (by index into `tables`; none for 'all').
  const keyed = tables.flatMap((entry, i) => (entry.keys === 'all' ? [] : [i]));
  const names = keyed.map((i) => tables[i]?.table as TableName);
  const [sourceShapes, targetShapes] = await Promise.all([
    readTableShapes(source, names),
    readTableShapes(target, names),
  ]);
  const plans = new Map<number, TablePlan>();
  keyed.forEach((index, i) => {
    const s = sourceShapes[i];
    const t = targetShapes[i];
    const { plan } = s ? planTable(s, t ?? null) : { plan: null };
    if (s && t && plan && plan.key.length > 0) plans.set(index, plan);
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
  const out: DirtyDifference[] = [];
  for (const [index, { table, keys }] of tables.entries()) {
    const plan = plans.get(index);
    if (keys === 'all' || !plan) out.push(await wholeTable(source, target, table, formatTable(table)));
    else out.push(await recheckPlanned(source, target, plan, rowHashExpression(plan, { functions }), keys));
  }
  return out;
}

async function recheckPlanned(
  source: pg.Client,
  target: pg.Client,
  plan: TablePlan,
  hash: string,
  keys: string[][],
): Promise<DirtyDifference> {
  const out: DirtyDifference = {
    table: plan.label,
    missing: [],
    extra: [],
    changed: [],
    wholeTable: false,
  };
  const unique = [
    ...new Map(keys.filter((key) => key.length === plan.key.length).map((key) => [JSON.stringify(key), key])).values(),
  ];
  for (let i = 0; i < unique.length; i += BATCH) {
    const batch: Key[] = unique.slice(i, i + BATCH);
    const [a, b] = await Promise.all([
      rowHashesForKeys(source, plan, hash, batch),
      rowHashesForKeys(target, plan, hash, batch),
    ]);
    const onSource = new Map(a.map((row) => [JSON.stringify(row.key), row.hash]));
    const onTarget = new Map(b.map((row) => [JSON.stringify(row.key), row.hash]));
    for (const key of batch) {
      const id = JSON.stringify(key);
      const x = onSource.get(id);
      const y = onTarget.get(id);
      if (x !== undefined && y === undefined) out.missing.push(key);
      else if (x === undefined && y !== undefined) out.extra.push(key);
      else if (x !== y) out.changed.push(key);
    }
  }
  return out;
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
