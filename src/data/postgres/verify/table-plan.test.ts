import { describe, expect, it } from 'vitest';
import type { TableShape } from './catalog.js';
import { rangesFrom } from './compare-table.js';
import { keyCompare, rangeCondition } from './sql.js';
import { planTable, rowHashExpression } from './table-plan.js';

const column = (name: string, type: string, extra: Partial<TableShape['columns'][number]> = {}) => ({
  name,
  type,
  baseType: type,
  notNull: false,
  generated: false,
  ...extra,
});

const source: TableShape = {
  table: { schema: 'public', name: 'orders' },
  kind: 'table',
  columns: [column('id', 'bigint'), column('doc', 'json'), column('amount', 'numeric'), column('qty', 'integer')],
  primaryKey: ['id'],
};

describe('planTable', () => {
  it('compares the shared columns in the source order, whatever the target order', () => {
    const target: TableShape = { ...source, columns: [...source.columns].reverse() };
    const { plan, differences, notes } = planTable(source, target);
    expect(differences).toEqual([]);
    expect(notes).toEqual([]);
    expect(plan?.columns.map((c) => c.name)).toEqual(['id', 'doc', 'amount', 'qty']);
    expect(plan?.key).toEqual([{ name: 'id', type: 'bigint' }]);
  });

  it('reports missing, extra and retyped columns and a different key, and then compares whole', () => {
    const target: TableShape = {
      ...source,
      columns: [
        column('id', 'bigint'),
        column('amount', 'numeric(10,2)'),
        column('qty', 'integer'),
        column('added', 'text'),
      ],
      primaryKey: ['id', 'qty'],
    };
    const { plan, differences, notes } = planTable(source, target);
    expect(differences.map((d) => `${d.kind}:${d.column ?? ''}`)).toEqual([
      'column-missing-on-target:doc',
      'column-type:amount',
      'column-extra-on-target:added',
      'primary-key:',
    ]);
    expect(plan?.key).toEqual([]);
    expect(notes[0]).toMatch(/primary keys differ/);
  });

  it('says the table is missing on the target', () => {
    expect(planTable(source, null).differences[0]?.kind).toBe('table-missing-on-target');
  });
});

describe('rowHashExpression', () => {
  it('hashes each column with its own seed and function, the others (json) as text, numeric with its scale', () => {
    const { plan } = planTable(source, source);
    const sql = rowHashExpression(plan!, {
      functions: new Map([
        ['bigint', 'hashint8extended'],
        ['numeric', 'hash_numeric_extended'],
      ]),
    });
    expect(sql).toBe(
      '(coalesce(hashint8extended("id", 1), 1) # coalesce(hashtextextended("doc"::text, 2), 2) # ' +
        'coalesce(hash_numeric_extended("amount", 3), 3) # coalesce(hashint4extended(scale("amount"), 4), 4) # ' +
        'coalesce(hashtextextended("qty"::text, 5), 5))',
    );
  });
});

describe('key ranges', () => {
  it('cuts chunks as half-open ranges open at both ends', () => {
    expect(rangesFrom([['10'], ['20']])).toEqual([
      { id: 0, lower: null, upper: ['10'] },
      { id: 1, lower: ['10'], upper: ['20'] },
      { id: 2, lower: ['20'], upper: null },
    ]);
  });

  it('passes key values as typed parameters, composite keys as row comparisons', () => {
    const { plan } = planTable({ ...source, primaryKey: ['id', 'qty'] }, { ...source, primaryKey: ['id', 'qty'] });
    const params: unknown[] = [];
    expect(rangeCondition(plan!, { lower: ['1', '2'], upper: ["3'; drop table x", '4'] }, params)).toBe(
      '("id", "qty") >= ($1::bigint, $2::integer) and ("id", "qty") < ($3::bigint, $4::integer)' +
        ' and "id" >= $5::bigint and "id" <= $6::bigint',
    );
    // The leading column's own bounds (for the planner's estimate) are parameters too.
    expect(params).toEqual(['1', '2', "3'; drop table x", '4', '1', "3'; drop table x"]);
    expect(keyCompare(planTable(source, source).plan!, '<', ['5'], [])).toBe('"id" < $1::bigint');
  });
});
