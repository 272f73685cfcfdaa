/**
 * What the catalog says about the plan's tables: which relations a pattern names, their columns,
 * keys, replica identity, persistence, triggers and size. Read-only queries, shared by preflight,
 * replication and cutover.
 */
import type pg from 'pg';
import { InputError } from '../../common/errors.js';
import { formatTable, parseTableName, type TableName } from './connect.js';

/** One `spec.data[].tables` entry: `schema.table`, or `schema.*` for every table in a schema. */
export type TablePattern =
  { kind: 'table'; table: TableName; text: string } | { kind: 'schema'; schema: string; text: string };

export function parseTablePattern(text: string, what = 'tables'): TablePattern {
  const trimmed = text.trim();
  if (trimmed.endsWith('.*')) {
    const schemaText = trimmed.slice(0, -2);
    // Reuse the table-name grammar for the schema part (a one-part name).
    const parsed = parseTableName(schemaText, what);
    if (parsed.schema !== 'public' || /\./.test(schemaText)) {
      throw new InputError(`${what}: "${text}" is not a pattern; write schema.* or schema.table`);
    }
    return { kind: 'schema', schema: parsed.name, text };
  }
  return { kind: 'table', table: parseTableName(trimmed, what), text };
}

export interface RelationInfo {
  table: TableName;
  oid: number;
  /** r table, p partitioned table, m materialized view, f foreign table, v view. */
  relkind: string;
  /** p permanent, u unlogged, t temporary. */
  persistence: string;
  /** d default (primary key), n nothing, f full, i index. */
  replicaIdentity: string;
  primaryKey: string[];
  owner: string;
  estimatedRows: number;
  bytes: number;
}

export interface ColumnInfo {
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  /** '' none, 's' stored generated, 'v' virtual generated (PG 18). */
  generated: string;
  /** '' none, 'a' always, 'd' by default. */
  identity: string;
}

export interface ResolvedTables {
  /** Tables that logical replication can carry (ordinary and partitioned tables). */
  tables: RelationInfo[];
  /** Relations the patterns matched that replication cannot carry (views, materialized views, foreign tables). */
  unreplicated: RelationInfo[];
  /** Exact names that matched nothing. */
  missing: TableName[];
}

const relationSql = `
  select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
         c.relpersistence::text as persistence, c.relreplident::text as replica_identity,
         pg_get_userbyid(c.relowner) as owner, c.reltuples::float8 as reltuples,
         case when c.relkind in ('r','p','m') then pg_table_size(c.oid) else 0 end::float8 as bytes,
         coalesce((select array_agg(a.attname::text order by k.ord)
                     from pg_index i
                     cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
                     join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                    where i.indrelid = c.oid and i.indisprimary), '{}'::text[]) as primary_key
    from pg_class c join pg_namespace n on n.oid = c.relnamespace`;

interface RelationRow {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  persistence: string;
  replica_identity: string;
  owner: string;
  reltuples: number;
  bytes: number;
  primary_key: string[];
}

function toRelation(row: RelationRow): RelationInfo {
  return {
    table: { schema: row.schema, name: row.name },
    oid: row.oid,
    relkind: row.relkind,
    persistence: row.persistence,
    replicaIdentity: row.replica_identity,
    primaryKey: row.primary_key,
    owner: row.owner,
    estimatedRows: row.reltuples,
    bytes: row.bytes,
  };
}

/** Schemas handoff keeps its own objects in; never part of a user's pattern. */
export const HANDOFF_SCHEMA = 'handoff';

/** Expands patterns into relations, in a stable order (schema, name). Partitions are left to their root. */
export async function resolveTables(client: pg.Client, patterns: readonly TablePattern[]): Promise<ResolvedTables> {
  const schemas = patterns.filter((p) => p.kind === 'schema').map((p) => p.schema);
  const exact = patterns.filter((p) => p.kind === 'table').map((p) => p.table);
  const result = await client.query<RelationRow>(
    `${relationSql}
      where c.relkind in ('r','p','m','f','v')
        and not c.relispartition
        and n.nspname <> $3
        and (n.nspname = any($1::text[])
             or (n.nspname, c.relname) in (select * from unnest($2::text[], $4::text[])))
      order by n.nspname, c.relname`,
    [schemas, exact.map((t) => t.schema), HANDOFF_SCHEMA, exact.map((t) => t.name)],
  );
  const found = result.rows.map(toRelation);
  const key = (t: TableName): string => `${t.schema}\u0000${t.name}`;
  const have = new Set(found.map((r) => key(r.table)));
  const exactKeys = new Set(exact.map(key));
  return {
    tables: found.filter((r) => r.relkind === 'r' || r.relkind === 'p'),
    // Views are never data; only flag them when named exactly.
    unreplicated: found.filter(
      (r) => r.relkind === 'm' || r.relkind === 'f' || (r.relkind === 'v' && exactKeys.has(key(r.table))),
    ),
    missing: exact.filter((t) => !have.has(key(t))),
  };
}

/** Looks up exact tables (used on the target for the source's list); absent ones are left out. */
export async function describeRelations(
  client: pg.Client,
  tables: readonly TableName[],
): Promise<Map<string, RelationInfo>> {
  const result = await client.query<RelationRow>(
    `${relationSql}
      where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return new Map(result.rows.map((row) => [formatTable({ schema: row.schema, name: row.name }), toRelation(row)]));
}

/** Columns of each table (by formatted name), in attribute order. */
export async function describeColumns(
  client: pg.Client,
  tables: readonly TableName[],
): Promise<Map<string, ColumnInfo[]>> {
  const result = await client.query<
    { schema: string; table: string } & Omit<ColumnInfo, 'notNull' | 'hasDefault'> & {
        not_null: boolean;
        has_default: boolean;
      }
  >(
    `select n.nspname as schema, c.relname as table, a.attname as name,
            format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null, a.atthasdef as has_default,
            a.attgenerated::text as generated, a.attidentity::text as identity
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))
        and a.attnum > 0 and not a.attisdropped
      order by n.nspname, c.relname, a.attnum`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const out = new Map<string, ColumnInfo[]>();
  for (const row of result.rows) {
    const key = formatTable({ schema: row.schema, name: row.table });
    const list = out.get(key) ?? [];
    list.push({
      name: row.name,
      type: row.type,
      notNull: row.not_null,
      hasDefault: row.has_default,
      generated: row.generated,
      identity: row.identity,
    });
    out.set(key, list);
  }
  return out;
}

export interface SequenceInfo {
  sequence: TableName;
  /** The table and column it feeds, when it is owned by or the default of a planned table's column. */
  table?: string;
  column?: string;
  identity: boolean;
}

/**
 * Sequences that feed the tables: owned by one of their columns (serial, identity) or named in a
 * column default (`nextval('x')`). These are what cutover syncs with setval.
 */
export async function describeSequences(client: pg.Client, tables: readonly TableName[]): Promise<SequenceInfo[]> {
  const result = await client.query<{
    seq_schema: string;
    seq_name: string;
    tbl: string;
    col: string;
    identity: boolean;
  }>(
    `with planned as (
       select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[])))
     select distinct sn.nspname as seq_schema, s.relname as seq_name,
            format('%I.%I', tn.nspname, t.relname) as tbl, a.attname as col, (d.deptype = 'i') as identity
       from pg_depend d
       join pg_class s on s.oid = d.objid and s.relkind = 'S'
       join pg_namespace sn on sn.oid = s.relnamespace
       join pg_class t on t.oid = d.refobjid
       join pg_namespace tn on tn.oid = t.relnamespace
       join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
      where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
        and d.deptype in ('a','i') and t.oid in (select oid from planned)
     union
     select distinct sn.nspname, s.relname, format('%I.%I', tn.nspname, t.relname), a.attname, false
       from pg_attrdef ad
       join pg_depend d on d.classid = 'pg_attrdef'::regclass and d.objid = ad.oid and d.refclassid = 'pg_class'::regclass
       join pg_class s on s.oid = d.refobjid and s.relkind = 'S'
       join pg_namespace sn on sn.oid = s.relnamespace
       join pg_class t on t.oid = ad.adrelid
       join pg_namespace tn on tn.oid = t.relnamespace
       join pg_attribute a on a.attrelid = t.oid and a.attnum = ad.adnum
      where t.oid in (select oid from planned)
      order by 1, 2`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const seen = new Map<string, SequenceInfo>();
  for (const row of result.rows) {
    const key = formatTable({ schema: row.seq_schema, name: row.seq_name });
    if (seen.has(key)) continue;
    seen.set(key, {
      sequence: { schema: row.seq_schema, name: row.seq_name },
      table: row.tbl,
      column: row.col,
      identity: row.identity,
    });
  }
  return [...seen.values()];
}

/** The server's major version (for example 15 or 18). */
export async function serverMajor(client: pg.Client): Promise<number> {
  const result = await client.query<{ v: string }>(`select current_setting('server_version_num') as v`);
  return Math.floor(Number(result.rows[0]?.v ?? '0') / 10000);
}
