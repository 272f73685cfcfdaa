/**
 * Compares one table's shape on the two sides and decides how to compare its rows: which columns
 * (those both sides share, in the source's order, so physical column order does not matter), which
 * key to chunk by, and how each column is hashed.
 */
import pg from 'pg';
import { formatTable, quoteTable, type TableName } from '../connect.js';
import type { TableShape } from './catalog.js';
import type { SchemaDifference } from './types.js';

export interface ComparedColumn {
  name: string;
  sourceType: string;
  targetType: string;
  /** Base type (domains stripped) on the source. */
  baseType: string;
}

export interface TablePlan {
  table: TableName;
  /** `schema.table` for reports. */
  label: string;
  /** Quoted for SQL. */
  sql: string;
  kind: TableShape['kind'];
  /** Key columns and their (shared) types; empty: the table is compared whole. */
  key: Array<{ name: string; type: string }>;
  columns: ComparedColumn[];
  /** Columns repair may write (shared, not generated on the target). */
  writable: string[];
}

export interface TablePlanResult {
  plan: TablePlan | null;
  differences: SchemaDifference[];
  notes: string[];
}

export function planTable(source: TableShape, target: TableShape | null): TablePlanResult {
  const label = formatTable(source.table);
  if (!target) {
    return {
      plan: null,
      differences: [
        {
          table: label,
          kind: 'table-missing-on-target',
          message: `${label} exists on the source but not on the target`,
        },
      ],
      notes: [],
    };
  }
  const differences: SchemaDifference[] = [];
  const notes: string[] = [];
  const targetColumns = new Map(target.columns.map((column) => [column.name, column]));
  const sourceNames = new Set(source.columns.map((column) => column.name));
  const columns: ComparedColumn[] = [];
  for (const column of source.columns) {
    const other = targetColumns.get(column.name);
    if (!other) {
      differences.push({
        table: label,
        kind: 'column-missing-on-target',
        column: column.name,
        source: column.type,
        message: `${label}.${column.name} (${column.type}) is missing on the target`,
      });
      continue;
    }
    if (other.type !== column.type) {
      differences.push({
        table: label,
        kind: 'column-type',
        column: column.name,
        source: column.type,
        target: other.type,
        message: `${label}.${column.name} is ${column.type} on the source but ${other.type} on the target; values compared in text form`,
      });
    }
    columns.push({ name: column.name, sourceType: column.type, targetType: other.type, baseType: column.baseType });
  }
  for (const column of target.columns) {
    if (!sourceNames.has(column.name)) {
      differences.push({
        table: label,
        kind: 'column-extra-on-target',
        column: column.name,
        target: column.type,
        message: `${label}.${column.name} (${column.type}) exists only on the target; not compared`,
      });
    }
  }
  const sameKey =
    source.primaryKey.length === target.primaryKey.length &&
    source.primaryKey.every((name, i) => target.primaryKey[i] === name);
  if (!sameKey) {
    differences.push({
      table: label,
      kind: 'primary-key',
      source: source.primaryKey.length ? `(${source.primaryKey.join(', ')})` : 'none',
      target: target.primaryKey.length ? `(${target.primaryKey.join(', ')})` : 'none',
      message: `${label}: the primary keys differ (source ${source.primaryKey.length ? `(${source.primaryKey.join(', ')})` : 'none'}, target ${target.primaryKey.length ? `(${target.primaryKey.join(', ')})` : 'none'})`,
    });
  }
  const byName = new Map(columns.map((column) => [column.name, column]));
  const keyUsable =
    sameKey &&
    source.primaryKey.length > 0 &&
    source.primaryKey.every((name) => {
      const column = byName.get(name);
      return column !== undefined && column.sourceType === column.targetType;
    });
  let key: TablePlan['key'] = [];
  if (keyUsable) {
    key = source.primaryKey.map((name) => ({ name, type: (byName.get(name) as ComparedColumn).sourceType }));
  } else if (source.primaryKey.length === 0) {
    notes.push(
      `${label} has no primary key: compared as a whole (row count and hash); differences cannot be located to rows`,
    );
  } else {
    notes.push(
      `${label}: the primary keys differ between the sides: compared as a whole; differences cannot be located to rows`,
    );
  }
  const generatedOnTarget = new Set(target.columns.filter((column) => column.generated).map((column) => column.name));
  return {
    plan: {
      table: source.table,
      label,
      sql: quoteTable(source.table),
      kind: source.kind,
      key,
      columns,
      writable: columns.map((column) => column.name).filter((name) => !generatedOnTarget.has(name)),
    },
    differences,
    notes,
  };
}

/** How each column is hashed on both sides. */
export interface HashChoices {
  /** Type → extended hash function, where both sides agree on it; other types are hashed as text. */
  functions: ReadonlyMap<string, string>;
}

/**
 * The expression hashed for each row: the XOR of one 64-bit hash per column, each with its own
 * seed (so values cannot trade places unnoticed) and a constant per column for NULL. Columns go
 * in through their type's own hash function (fast, and independent of session settings); types
 * without one (json, point, xml, enums...), and columns whose type differs between the sides, are
 * hashed in text form (stable under the pinned settings). Numeric columns also contribute their
 * scale, since the numeric hash treats 1.0 and 1.00 as equal (numeric arrays go in as text for the
 * same reason). Calling the per-type functions directly costs about 20 % less than
 * `hash_record_extended(row(...))` over the same columns.
 */
export function rowHashExpression(plan: TablePlan, choices: HashChoices): string {
  const parts = columnHashExpressions(plan, choices);
  if (parts.length === 0) return `0::int8`;
  return `(${parts.join(' # ')})`;
}

/** One 64-bit hash expression per compared column, in `plan.columns` order (see rowHashExpression). */
export function columnHashExpressions(plan: TablePlan, choices: HashChoices): string[] {
  const parts: string[] = [];
  let seed = 0;
  const call = (expression: (seed: number) => string): string => {
    seed++;
    return `coalesce(${expression(seed)}, ${seed})`;
  };
  for (const column of plan.columns) {
    const ident = pg.escapeIdentifier(column.name);
    const fn = column.sourceType === column.targetType ? choices.functions.get(column.sourceType) : undefined;
    const asText = fn === undefined || column.baseType.startsWith('numeric[');
    if (asText) parts.push(call((s) => `hashtextextended(${ident}::text, ${s})`));
    else if (column.baseType === 'numeric') {
      parts.push(`${call((s) => `${fn}(${ident}, ${s})`)} # ${call((s) => `hashint4extended(scale(${ident}), ${s})`)}`);
    } else parts.push(call((s) => `${fn}(${ident}, ${s})`));
  }
  return parts;
}
