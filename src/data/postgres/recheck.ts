/**
 * The default re-check of dirty keys at cutover: per key, the row's md5 over its columns (in the
 * source's column order, by name) on both sides, fetched by primary key in SQL. The verification
 * module can replace it (PostgresDataPlaneOptions.recheck) with its chunked comparison.
 */
import pg from 'pg';
import { formatTable, quoteTable } from './connect.js';
import { describeColumns, describeRelations } from './catalog.js';
import type { DirtyDifference, DirtyRecheck } from './options.js';

export const recheckDirtyKeys: DirtyRecheck = async ({ source, target, table, keys }) => {
  const name = formatTable(table);
  const rel = (await describeRelations(source, [table])).get(name);
  const columns = (await describeColumns(source, [table])).get(name) ?? [];
  const pk = rel?.primaryKey ?? [];
  const rowOf = (prefix: string): string => `md5(row(${columns.map((c) => prefix + pg.escapeIdentifier(c.name)).join(', ')})::text)`;
  const rowExpr = rowOf('');
  const out: DirtyDifference = { table: name, missing: [], extra: [], changed: [], wholeTable: keys === 'all' || pk.length === 0 };
  if (out.wholeTable) {
    const order = pk.length > 0 ? pk.map((c) => pg.escapeIdentifier(c)).join(', ') : rowExpr;
    const sql = `select count(*)::text as n, coalesce(md5(string_agg(${rowExpr}, '' order by ${order})), '') as h from ${quoteTable(table)}`;
    const [a, b] = await Promise.all([source.query<{ n: string; h: string }>(sql), target.query<{ n: string; h: string }>(sql)]);
    if (a.rows[0]?.n !== b.rows[0]?.n || a.rows[0]?.h !== b.rows[0]?.h) out.changed.push([]);
    return out;
  }
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const join = pk.map((col, i) => `t.${pg.escapeIdentifier(col)} = (k.key ->> ${i})::${types.get(col) ?? 'text'}`).join(' and ');
  const keyExpr = `array[${pk.map((col) => `t.${pg.escapeIdentifier(col)}::text`).join(', ')}]`;
  const sql = `select ${keyExpr} as key, ${rowOf('t.')} as h
                 from jsonb_array_elements($1::jsonb) as k(key) join ${quoteTable(table)} t on ${join}`;
  const list = keys as string[][];
  const [a, b] = await Promise.all([
    source.query<{ key: string[]; h: string }>(sql, [JSON.stringify(list)]),
    target.query<{ key: string[]; h: string }>(sql, [JSON.stringify(list)]),
  ]);
  const id = (key: string[]): string => JSON.stringify(key);
  const onSource = new Map(a.rows.map((r) => [id(r.key), r.h]));
  const onTarget = new Map(b.rows.map((r) => [id(r.key), r.h]));
  for (const key of list) {
    const s = onSource.get(id(key));
    const t = onTarget.get(id(key));
    if (s !== undefined && t === undefined) out.missing.push(key);
    else if (s === undefined && t !== undefined) out.extra.push(key);
    else if (s !== t) out.changed.push(key);
  }
  return out;
};
