/**
 * The one re-check of dirty keys (cutover's final check under the fence, and the settling before the
 * hold): compare only the keys that changed since the last clean pass (the dirty keys the
 * replication side tracks), one row hash per key on each side, with the same type-aware hashing as
 * the chunked comparison. `'all'` (a TRUNCATE, or no primary key) compares the whole table with
 * `verifyTables`.
 */
import type pg from 'pg';
import { formatTable } from '../connect.js';
import type { DirtyDifference, DirtyRecheck } from '../options.js';
import { hashFunctions, readTableShape } from './catalog.js';
import { rowHashesForKeys } from './range-ops.js';
import { planTable, rowHashExpression } from './table-plan.js';
import type { Key } from './types.js';
import { verifyTables } from './verify-tables.js';

/** Keys per statement. */
const BATCH = 5_000;

export const recheckKeys: DirtyRecheck = async ({ source, target, table, keys }) => {
  const label = formatTable(table);
  if (keys === 'all') return await wholeTable(source, target, table, label);
  const [s, t] = await Promise.all([readTableShape(source, table), readTableShape(target, table)]);
  const { plan } = s ? planTable(s, t) : { plan: null };
  if (!s || !t || !plan || plan.key.length === 0) return await wholeTable(source, target, table, label);
  const sourceTypes = plan.columns.map((column) => column.sourceType);
  const targetTypes = plan.columns.map((column) => column.targetType);
  const [functionsSource, functionsTarget] = await Promise.all([
    hashFunctions(source, sourceTypes),
    hashFunctions(target, targetTypes),
  ]);
  const functions = new Map([...functionsSource].filter(([type, fn]) => functionsTarget.get(type) === fn));
  const hash = rowHashExpression(plan, { functions });
  const out: DirtyDifference = { table: label, missing: [], extra: [], changed: [], wholeTable: false };
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
};

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
