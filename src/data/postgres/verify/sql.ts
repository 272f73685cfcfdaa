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

/** `array[a::text, b::text]`: the key in text form as one text[] value (node-pg reads it as string[]). */
export function keyTextArray(plan: TablePlan): string {
  return `array[${plan.key.map((column) => `${pg.escapeIdentifier(column.name)}::text`).join(', ')}]`;
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

/**
 * The WHERE condition for a half-open range; `true` for the whole table.
 *
 * For a key of several columns the row comparison `(a, b) >= (x, y)` alone is estimated badly: the
 * planner multiplies the two bounds' selectivities as if independent (about a sixth of the table
 * for a chunk of 0.5 %), so each chunk became a parallel bitmap heap scan with worker start-up,
 * 10x the time of a single-column key. The leading column's own bounds (`a >= x and a <= y`,
 * implied by the row comparisons, so the rows are the same) are recognised as one range and
 * estimated from its histogram: a plain index range scan again.
 */
export function rangeCondition(plan: TablePlan, range: KeyRange, params: unknown[]): string {
  const parts: string[] = [];
  if (range.lower) parts.push(keyCompare(plan, '>=', range.lower, params));
  if (range.upper) parts.push(keyCompare(plan, '<', range.upper, params));
  if (plan.key.length > 1) parts.push(...leadingBounds(plan, range, params));
  return parts.length ? parts.join(' and ') : 'true';
}

/**
 * Bounds the planner can estimate: the columns both range ends share (`region = 'eu'`), then the
 * next column's own range. Every one is implied by the row comparisons, so the rows are the same.
 */
function leadingBounds(plan: TablePlan, range: KeyRange, params: unknown[]): string[] {
  const out: string[] = [];
  const { lower, upper } = range;
  let i = 0;
  if (lower && upper) {
    while (i < plan.key.length - 1 && lower[i] === upper[i]) {
      const column = plan.key[i] as { name: string; type: string };
      params.push(lower[i]);
      out.push(`${pg.escapeIdentifier(column.name)} = $${params.length}::${column.type}`);
      i++;
    }
  }
  const column = plan.key[i] as { name: string; type: string };
  for (const [bound, operator] of [
    [lower, '>='],
    [upper, '<='],
  ] as const) {
    if (!bound) continue;
    params.push(bound[i]);
    out.push(`${pg.escapeIdentifier(column.name)} ${operator} $${params.length}::${column.type}`);
  }
  return out;
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
