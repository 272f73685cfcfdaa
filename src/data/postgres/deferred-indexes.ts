/**
 * Secondary indexes built after the initial copy (pgcopydb's order): a row copied into a table with
 * no index but its primary key costs one heap insert and one B-tree insert; each further index adds
 * a random insert into a tree that, past shared buffers, is a read from disk. At 10 M orders the
 * demo's `orders` copied at 17 K rows/s (a random uuid and a (client_id, id) index) where
 * `order_events`, with its key alone, copied at 67 K. One sort per index after the copy is cheaper.
 *
 * Only what can be put back exactly is deferred, on tables the target holds empty:
 * - plain and unique indexes, and UNIQUE constraints (re-added with their own definition);
 * - never the primary key or the replica identity index (replication applies updates and deletes
 *   through them), an index something else depends on (a foreign key's referenced key), an
 *   exclusion constraint, an index with a column statistics target, an invalid index, or one on a
 *   partitioned table or a partition (the tree of indexes is not rebuilt piece by piece here);
 * - only on tables the connecting role owns (or a member of their owner's role).
 * Comments on the index or its constraint, and CLUSTER ON, are put back with it.
 *
 * Every definition is recorded in the run's state before anything is dropped. Building is
 * idempotent by name; undo builds whatever is still missing, so an undone run leaves the target's
 * schema as it found it.
 */
import type pg from 'pg';
import { formatTable, quoteIdentifier, quoteTable, type TableName } from './identifiers.js';

export interface DeferredIndex {
  table: TableName;
  /** The index's schema and name (a UNIQUE constraint's index has the constraint's name). */
  schema: string;
  name: string;
  /** pg_get_indexdef, for a plain index. */
  indexDef: string;
  /** The UNIQUE constraint the index backs, with pg_get_constraintdef; null for a plain index. */
  constraint: { name: string; def: string; comment: string | null } | null;
  comment: string | null;
  clustered: boolean;
  /** The index's size on the target when it was dropped (empty table: its metapage, a few KB). */
  bytes: number;
}

interface IndexRow {
  table_schema: string;
  table_name: string;
  index_schema: string;
  index_name: string;
  index_def: string;
  constraint_name: string | null;
  constraint_def: string | null;
  constraint_comment: string | null;
  comment: string | null;
  clustered: boolean;
  bytes: string;
}

/**
 * The secondary indexes of `tables` on `client` that can be dropped and built again exactly (see
 * the module's comment), each table's only when the table holds no rows.
 */
export async function deferrableIndexes(client: pg.Client, tables: readonly TableName[]): Promise<DeferredIndex[]> {
  if (tables.length === 0) return [];
  const empty: TableName[] = [];
  for (const table of tables) {
    const r = await client.query(`select 1 from ${quoteTable(table)} limit 1`);
    if (!r.rowCount) empty.push(table);
  }
  if (empty.length === 0) return [];
  const r = await client.query<IndexRow>(
    `select tn.nspname as table_schema, tc.relname as table_name,
            inn.nspname as index_schema, ic.relname as index_name,
            pg_get_indexdef(i.indexrelid) as index_def,
            con.conname as constraint_name,
            case when con.oid is null then null else pg_get_constraintdef(con.oid) end as constraint_def,
            case when con.oid is null then null else obj_description(con.oid, 'pg_constraint') end as constraint_comment,
            obj_description(i.indexrelid, 'pg_class') as comment,
            i.indisclustered as clustered,
            pg_relation_size(i.indexrelid)::text as bytes
       from pg_index i
       join pg_class tc on tc.oid = i.indrelid
       join pg_namespace tn on tn.oid = tc.relnamespace
       join pg_class ic on ic.oid = i.indexrelid
       join pg_namespace inn on inn.oid = ic.relnamespace
       left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid and con.contype = 'u'
      where (tn.nspname, tc.relname) in (select * from unnest($1::text[], $2::text[]))
        and tc.relkind = 'r' and not tc.relispartition
        and not i.indisprimary and not i.indisreplident and i.indisvalid and i.indisready
        and not exists (select 1 from pg_constraint o
                         where o.conindid = i.indexrelid and o.contype <> 'u')
        and not exists (select 1 from pg_depend d
                         where d.refclassid = 'pg_class'::regclass and d.refobjid = i.indexrelid and d.deptype = 'n')
        and not exists (select 1 from pg_attribute a
                         where a.attrelid = i.indexrelid and a.attstattarget >= 0)
        and pg_has_role(current_user, tc.relowner, 'USAGE')
      order by tn.nspname, tc.relname, ic.relname`,
    [empty.map((t) => t.schema), empty.map((t) => t.name)],
  );
  return r.rows.map((row) => ({
    table: { schema: row.table_schema, name: row.table_name },
    schema: row.index_schema,
    name: row.index_name,
    indexDef: row.index_def,
    constraint:
      row.constraint_name !== null && row.constraint_def !== null
        ? { name: row.constraint_name, def: row.constraint_def, comment: row.constraint_comment }
        : null,
    comment: row.comment,
    clustered: row.clustered,
    bytes: Number(row.bytes),
  }));
}

/** The deferred indexes that exist on `client` now, by `schema.name`. */
export async function existingIndexes(client: pg.Client, indexes: readonly DeferredIndex[]): Promise<Set<string>> {
  if (indexes.length === 0) return new Set();
  const r = await client.query<{ key: string }>(
    `select n.nspname || '.' || c.relname as key
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('i', 'I') and (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))`,
    [indexes.map((i) => i.schema), indexes.map((i) => i.name)],
  );
  return new Set(r.rows.map((row) => row.key));
}

export const indexKey = (index: DeferredIndex): string => `${index.schema}.${index.name}`;

/** Drops the indexes that still exist, in one transaction. Returns how many were dropped. */
export async function dropDeferred(client: pg.Client, indexes: readonly DeferredIndex[]): Promise<number> {
  const present = await existingIndexes(client, indexes);
  const drop = indexes.filter((index) => present.has(indexKey(index)));
  if (drop.length === 0) return 0;
  await client.query('begin');
  try {
    for (const index of drop) {
      await client.query(
        index.constraint
          ? `alter table ${quoteTable(index.table)} drop constraint ${quoteIdentifier(index.constraint.name)}`
          : `drop index ${quoteIdentifier(index.schema)}.${quoteIdentifier(index.name)}`,
      );
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
  return drop.length;
}

/**
 * Builds one deferred index as it was (with its comments and CLUSTER ON), in one transaction, unless
 * it exists. Returns false when it was there already.
 */
export async function buildDeferred(client: pg.Client, index: DeferredIndex): Promise<boolean> {
  const present = await existingIndexes(client, [index]);
  if (present.has(indexKey(index))) return false;
  const literal = async (text: string): Promise<string> =>
    (await client.query<{ l: string }>(`select format('%L', $1::text) as l`, [text])).rows[0]!.l;
  const indexName = `${quoteIdentifier(index.schema)}.${quoteIdentifier(index.name)}`;
  await client.query('begin');
  try {
    if (index.constraint) {
      const name = quoteIdentifier(index.constraint.name);
      await client.query(`alter table ${quoteTable(index.table)} add constraint ${name} ${index.constraint.def}`);
      if (index.constraint.comment !== null)
        await client.query(
          `comment on constraint ${name} on ${quoteTable(index.table)} is ${await literal(index.constraint.comment)}`,
        );
    } else {
      await client.query(index.indexDef);
    }
    if (index.comment !== null) await client.query(`comment on index ${indexName} is ${await literal(index.comment)}`);
    if (index.clustered)
      await client.query(`alter table ${quoteTable(index.table)} cluster on ${quoteIdentifier(index.name)}`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
  return true;
}

/** `public.orders_request_id_key on public.orders` (for messages). */
export const describeIndex = (index: DeferredIndex): string => `${indexKey(index)} on ${formatTable(index.table)}`;
