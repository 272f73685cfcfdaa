/**
 * What verification reads from the catalogs: the user tables, each table's columns and primary
 * key, and which column types PostgreSQL can hash directly. Read-only.
 */
import type pg from 'pg';
import type { TableName } from '../connect.js';
import { quoteTable } from '../connect.js';

export interface ColumnShape {
  name: string;
  /** `format_type()`: the type as SQL writes it, identifiers quoted (safe to put in a cast). */
  type: string;
  /** The type after stripping domains, for decisions such as numeric scale. */
  baseType: string;
  notNull: boolean;
  /** Generated columns are computed on each side, never written by repair. */
  generated: boolean;
}

export interface TableShape {
  table: TableName;
  kind: 'table' | 'partitioned';
  columns: ColumnShape[];
  /** Primary-key column names in key order; empty when the table has none. */
  primaryKey: string[];
}

/** Ordinary and partitioned tables (not partitions) in every schema but the system ones. */
export async function listUserTables(client: pg.ClientBase, excludeSchemas: readonly string[] = []): Promise<TableName[]> {
  const result = await client.query<{ schema: string; name: string }>(
    `select n.nspname as schema, c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
        and not (n.nspname = any($1::text[]))
      order by 1, 2`,
    [excludeSchemas],
  );
  return result.rows.map((row) => ({ schema: row.schema, name: row.name }));
}

/** The table's shape, or null when no such table (or view, or other relation kind) exists. */
export async function readTableShape(client: pg.ClientBase, table: TableName): Promise<TableShape | null> {
  const found = await client.query<{ oid: number; relkind: string }>(
    `select c.oid::int8 as oid, c.relkind::text as relkind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`,
    [table.schema, table.name],
  );
  const relation = found.rows[0];
  if (!relation) return null;
  const columns = await client.query<{ name: string; type: string; base_type: string; not_null: boolean; generated: boolean }>(
    `select a.attname::text as name, format_type(a.atttypid, a.atttypmod) as type,
            format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid), null) as base_type,
            a.attnotnull as not_null, a.attgenerated <> '' as generated
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [relation.oid],
  );
  const key = await client.query<{ columns: string[] | null }>(
    `select array_agg(a.attname::text order by k.ord) as columns
       from pg_index i
       cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = $1::oid and i.indisprimary`,
    [relation.oid],
  );
  return {
    table,
    kind: relation.relkind === 'p' ? 'partitioned' : 'table',
    columns: columns.rows.map((row) => ({
      name: row.name,
      type: row.type,
      baseType: row.base_type,
      notNull: row.not_null,
      generated: row.generated,
    })),
    primaryKey: key.rows[0]?.columns ?? [],
  };
}

/**
 * The types among `types` that `hash_record_extended` cannot hash (json, point, xml, arrays of
 * them, ...): those are hashed in their text form instead. Asked of the server itself, one probe
 * per type, since hashability depends on opclasses, extensions and element types.
 * The session must not be inside a transaction (a failed probe would abort it).
 */
export async function unhashableTypes(client: pg.ClientBase, types: Iterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const type of new Set(types)) {
    try {
      await client.query(`select hash_record_extended(row(null::${type}), 0)`);
    } catch {
      out.add(type);
    }
  }
  return out;
}

/** Row estimate and heap size in pages, from the catalog (no scan). `rows` is -1 when never analysed. */
export async function tableSize(client: pg.ClientBase, table: TableName): Promise<{ rows: number; pages: number }> {
  const result = await client.query<{ rows: number; pages: string }>(
    `select c.reltuples::float8 as rows, (pg_relation_size(c.oid) / current_setting('block_size')::int8)::text as pages
       from pg_class c where c.oid = $1::regclass`,
    [quoteTable(table)],
  );
  const row = result.rows[0];
  return { rows: row ? Number(row.rows) : -1, pages: row ? Number(row.pages) : 0 };
}

/**
 * For each type, the name of its extended hash function (the default hash opclass's support
 * function 2; the polymorphic one for arrays, enums, ranges, composites), or none when unknown.
 */
export async function hashFunctions(client: pg.ClientBase, types: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const type of new Set(types)) {
    const result = await client.query<{ fn: string | null }>(
      `with t as (
         select coalesce(nullif(ty.typbasetype, 0), ty.oid) as oid from pg_type ty where ty.oid = $1::regtype
       ), b as (
         select ty.oid, ty.typtype, ty.typcategory from pg_type ty join t on t.oid = ty.oid
       )
       select case
         when b.typcategory = 'A' then 'hash_array_extended'
         when b.typtype = 'e' then 'hashenumextended'
         when b.typtype = 'r' then 'hash_range_extended'
         when b.typtype = 'm' then 'hash_multirange_extended'
         when b.typtype = 'c' then 'hash_record_extended'
         else (select p.amproc::regproc::text
                 from pg_opclass oc
                 join pg_am am on am.oid = oc.opcmethod and am.amname = 'hash'
                 join pg_amproc p on p.amprocfamily = oc.opcfamily and p.amprocnum = 2
                      and p.amproclefttype = oc.opcintype and p.amprocrighttype = oc.opcintype
                where oc.opcdefault and oc.opcintype = b.oid
                limit 1)
       end as fn
       from b`,
      [type],
    );
    const fn = result.rows[0]?.fn;
    if (fn && /^[a-z_][a-z0-9_.]*$/.test(fn)) out.set(type, fn);
  }
  return out;
}
