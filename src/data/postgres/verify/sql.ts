/**
 * SQL text for key ranges and key lists. Every value travels as a parameter (text, cast to the key
 * column's type); identifiers are quoted; types come from the catalog's `format_type()`.
 */
import pg from 'pg';
import type { TablePlan } from './table-plan.js';
import type { Key, KeyRange } from './types.js';

/** `a, b`: the key columns, for ORDER BY and row constructors. */
export function keyColumns(plan: TablePlan): string {
  return plan.key.map((column) => pg.escapeIdentifier(column.name)).join(', ');
}

/** `a::text as k0, b::text as k1`: the key in text form. */
export function keyText(plan: TablePlan): string {
  return plan.key.map((column, i) => `${pg.escapeIdentifier(column.name)}::text as k${i}`).join(', ');
}

/** Reads a key back from a row produced with `keyText`. */
export function keyOf(row: Record<string, unknown>, plan: TablePlan): Key {
  return plan.key.map((_, i) => String(row[`k${i}`]));
}

/** The key compared with a typed tuple of parameters; appends the key's values to `params`. */
export function keyCompare(plan: TablePlan, operator: '<' | '>=' | '=', key: Key, params: unknown[]): string {
  const values = plan.key.map((column, i) => {
    params.push(key[i]);
    return `$${params.length}::${column.type}`;
  });
  if (plan.key.length === 1) return `${keyColumns(plan)} ${operator} ${values[0]}`;
  return `(${keyColumns(plan)}) ${operator} (${values.join(', ')})`;
}

/** The WHERE condition for a half-open range; `true` for the whole table. */
export function rangeCondition(plan: TablePlan, range: KeyRange, params: unknown[]): string {
  const parts: string[] = [];
  if (range.lower) parts.push(keyCompare(plan, '>=', range.lower, params));
  if (range.upper) parts.push(keyCompare(plan, '<', range.upper, params));
  return parts.length ? parts.join(' and ') : 'true';
}

/**
 * A typed key set from parameters: `select x0::t0 as a, x1::t1 as b from unnest($1::text[], ...)`.
 * Appends one text array per key column to `params`.
 */
export function keySet(plan: TablePlan, keys: readonly Key[], params: unknown[]): string {
  const arrays = plan.key.map((_, i) => {
    params.push(keys.map((key) => key[i]));
    return `$${params.length}::text[]`;
  });
  const casts = plan.key.map((column, i) => `x${i}::${column.type}`).join(', ');
  const names = plan.key.map((_, i) => `x${i}`).join(', ');
  return `select ${casts} from unnest(${arrays.join(', ')}) as u(${names})`;
}

/** `(a, b) in (select ...)` for a key set. */
export function keyIn(plan: TablePlan, keys: readonly Key[], params: unknown[]): string {
  const columns = plan.key.length === 1 ? keyColumns(plan) : `(${keyColumns(plan)})`;
  return `${columns} in (${keySet(plan, keys, params)})`;
}
