import { describe, expect, it } from 'vitest';
import { rangeCondition } from './sql.js';
import type { TablePlan } from './table-plan.js';

function plan(key: TablePlan['key']): TablePlan {
  return {
    table: { schema: 'public', name: 't' },
    label: 'public.t',
    sql: '"public"."t"',
    kind: 'table',
    key,
    columns: [],
    writable: [],
  };
}

describe('rangeCondition', () => {
  it('bounds a single-column key by the column alone', () => {
    const params: unknown[] = [];
    const sql = rangeCondition(plan([{ name: 'id', type: 'bigint' }]), { lower: ['10'], upper: ['20'] }, params);
    expect(sql).toBe('"id" >= $1::bigint and "id" < $2::bigint');
    expect(params).toEqual(['10', '20']);
  });

  it('adds the leading column range to a composite key, so the planner estimates a chunk as a chunk', () => {
    const params: unknown[] = [];
    const key = [
      { name: 'order_id', type: 'bigint' },
      { name: 'seq', type: 'integer' },
    ];
    const sql = rangeCondition(plan(key), { lower: ['100', '3'], upper: ['250', '1'] }, params);
    expect(sql).toBe(
      '("order_id", "seq") >= ($1::bigint, $2::integer) and ("order_id", "seq") < ($3::bigint, $4::integer)' +
        ' and "order_id" >= $5::bigint and "order_id" <= $6::bigint',
    );
    expect(params).toEqual(['100', '3', '250', '1', '100', '250']);
  });

  it('pins the columns both ends share and bounds the next one (a leading column with few values)', () => {
    const params: unknown[] = [];
    const key = [
      { name: 'region', type: 'text' },
      { name: 'order_no', type: 'integer' },
      { name: 'line', type: 'smallint' },
    ];
    const sql = rangeCondition(plan(key), { lower: ['eu', '10', '2'], upper: ['eu', '90', '0'] }, params);
    expect(sql).toBe(
      '("region", "order_no", "line") >= ($1::text, $2::integer, $3::smallint) and ("region", "order_no", "line") < ($4::text, $5::integer, $6::smallint)' +
        ' and "region" = $7::text and "order_no" >= $8::integer and "order_no" <= $9::integer',
    );
    expect(params.slice(6)).toEqual(['eu', '10', '90']);
  });

  it('bounds only the side a half-open composite range has', () => {
    const params: unknown[] = [];
    const key = [
      { name: 'a', type: 'text' },
      { name: 'b', type: 'integer' },
    ];
    expect(rangeCondition(plan(key), { lower: null, upper: ['m', '2'] }, params)).toBe(
      '("a", "b") < ($1::text, $2::integer) and "a" <= $3::text',
    );
    expect(rangeCondition(plan(key), { lower: null, upper: null }, [])).toBe('true');
  });
});
