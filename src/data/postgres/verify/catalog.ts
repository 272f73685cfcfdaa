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
export async function listUserTables(
  client: pg.ClientBase,
  excludeSchemas: readonly string[] = [],
): Promise<TableName[]> {
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
  return (await readTableShapes(client, [table]))[0] ?? null;
}

/**
 * The shapes of `tables`, in their order (null where no such table exists), in one round trip
 * whatever their number: the cutover re-reads shapes under its fence.
 */
export async function readTableShapes(
  client: pg.ClientBase,
  tables: readonly TableName[],
): Promise<Array<TableShape | null>> {
  if (tables.length === 0) return [];
  const found = await client.query<{
    i: number;
    relkind: string;
    columns: Array<{ name: string; type: string; base_type: string; not_null: boolean; generated: boolean }>;
    key: string[] | null;
  }>(
    `select w.i::int as i, c.relkind::text as relkind,
            coalesce((select json_agg(json_build_object(
                        'name', a.attname::text,
                        'type', format_type(a.atttypid, a.atttypmod),
                        'base_type', format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid), null),
                        'not_null', a.attnotnull,
                        'generated', a.attgenerated <> '') order by a.attnum)
                        from pg_attribute a join pg_type t on t.oid = a.atttypid
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]'::json) as columns,
            (select array_agg(a.attname::text order by k.ord)
               from pg_index i
               cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
              where i.indrelid = c.oid and i.indisprimary) as key
       from unnest($1::text[], $2::text[]) with ordinality as w(schema, name, i)
       join pg_namespace n on n.nspname = w.schema
       join pg_class c on c.relnamespace = n.oid and c.relname = w.name
      where c.relkind in ('r', 'p')`,
    [tables.map((table) => table.schema), tables.map((table) => table.name)],
  );
  const out: Array<TableShape | null> = tables.map(() => null);
  for (const relation of found.rows) {
    const table = tables[relation.i - 1];
    if (!table) continue;
    out[relation.i - 1] = {
      table,
      kind: relation.relkind === 'p' ? 'partitioned' : 'table',
      columns: relation.columns.map((row) => ({
        name: row.name,
        type: row.type,
        baseType: row.base_type,
        notNull: row.not_null,
        generated: row.generated,
      })),
      primaryKey: relation.key ?? [],
    };
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
 * Types whose hash tells apart every two values with different text forms (under the pinned
 * settings), so hashing them is as exact as comparing text. Others have looser equality (interval:
 * '1 day' = '24:00:00'; citext: case...) or a hash of cluster-local OIDs (enums), and are hashed in
 * text form. Numeric is here because its scale is hashed beside it (see table-plan.ts); floats and
 * jsonb with known gaps, documented (-0 = 0; numbers inside jsonb compare by value: 1.0 = 1.00).
 */
const IDENTITY_HASHED = new Set([
  'smallint',
  'integer',
  'bigint',
  'boolean',
  'text',
  'character varying',
  'character',
  'name',
  '"char"',
  'uuid',
  'bytea',
  'date',
  'time without time zone',
  'timestamp without time zone',
  'timestamp with time zone',
  'numeric',
  'real',
  'double precision',
  'jsonb',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
]);

/**
 * For each type, the name of its extended hash function, read from the catalog: the default hash
 * opclass's support function 2 for the type (after domains), or for a type it is binary-coercible
 * to (varchar hashes as text); `hash_array_extended` for arrays whose element type has one. Types
 * left out (json, point, xml, composites, ranges, arrays of those...) are hashed in text form by the
 * caller; so are enums, whose hash is of the label's OID, which differs between clusters. Catalog
 * reads only: no probe that could fail and leave an ERROR in the server's log; safe in a transaction.
 */
export async function hashFunctions(client: pg.ClientBase, types: Iterable<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(types)];
  if (unique.length === 0) return out;
  // One round trip for every type (a lateral query per type).
  const result = await client.query<{ type: string; fn: string | null; base: string; element: string | null }>(
    `select t.type, x.fn, x.base, x.element from unnest($1::text[]) as t(type) cross join lateral (
     with recursive base(oid, depth) as (
         select t.type::regtype::oid, 0
         union all
         select ty.typbasetype, base.depth + 1 from pg_type ty join base on ty.oid = base.oid
          where ty.typbasetype <> 0 and base.depth < 10
       ), b as (
         select ty.oid, ty.typtype, ty.typcategory, ty.typelem from pg_type ty
          where ty.oid = (select oid from base order by depth desc limit 1)
       ), e as (
         select coalesce(nullif(et.typbasetype, 0), et.oid) as oid from pg_type et join b on et.oid = b.typelem
       ), fns as (
         select oc.opcintype, p.amproc::regproc::text as fn
           from pg_opclass oc
           join pg_am am on am.oid = oc.opcmethod and am.amname = 'hash'
           join pg_amproc p on p.amprocfamily = oc.opcfamily and p.amprocnum = 2
                and p.amproclefttype = oc.opcintype and p.amprocrighttype = oc.opcintype
          where oc.opcdefault
       ), direct as (
         select b.oid, coalesce(
                  (select fn from fns where fns.opcintype = b.oid limit 1),
                  (select fn from fns join pg_cast c on c.casttarget = fns.opcintype
                    where c.castsource = b.oid and c.castmethod = 'b' limit 1)) as fn
           from b
       )
       select format_type(b.oid, null) as base, (select format_type(e.oid, null) from e) as element, case
         when b.typcategory = 'A' and b.typelem <> 0 then
           case when exists (select 1 from fns where fns.opcintype = (select oid from e))
                  or exists (select 1 from fns join pg_cast c on c.casttarget = fns.opcintype
                              where c.castsource = (select oid from e) and c.castmethod = 'b')
                then 'hash_array_extended' end
         when b.typtype = 'b' then (select fn from direct)
       end as fn
       from b
     ) as x`,
    [unique],
  );
  for (const row of result.rows) {
    const fn = row.fn;
    const exact = IDENTITY_HASHED.has(row.element ?? row.base);
    if (fn && exact && /^[a-z_][a-z0-9_.]*$/.test(fn)) out.set(row.type, fn);
  }
  return out;
}
