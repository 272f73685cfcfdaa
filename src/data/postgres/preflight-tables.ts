/**
 * Preflight checks about the plan's tables: present on the target with the same columns and types,
 * replicable (identity, persistence, relation kind), generated columns, sequences, triggers that fire
 * during apply, and whether the target already holds rows. Read-only.
 */
import pg from 'pg';
import type { Finding } from '../../common/findings.js';
import { formatTable, quoteTable } from './connect.js';
import type { ColumnInfo, RelationInfo, SequenceInfo } from './catalog.js';

export interface TableCheckInput {
  sourceTables: RelationInfo[];
  unreplicated: RelationInfo[];
  targetTables: Map<string, RelationInfo>;
  sourceColumns: Map<string, ColumnInfo[]>;
  targetColumns: Map<string, ColumnInfo[]>;
  sourceMajor: number;
  targetMajor: number;
}

export function tableFindings(input: TableCheckInput): Finding[] {
  const out: Finding[] = [];
  for (const rel of input.unreplicated) {
    const kind = rel.relkind === 'm' ? 'materialized view' : rel.relkind === 'f' ? 'foreign table' : 'view';
    out.push({
      id: 'pg.unreplicated-relation',
      severity: rel.relkind === 'v' ? 'blocker' : 'warning',
      subject: formatTable(rel.table),
      message: `${formatTable(rel.table)} is a ${kind}; logical replication does not carry it`,
      remediation:
        rel.relkind === 'm'
          ? 'create it on the target with the schema and REFRESH MATERIALIZED VIEW after the copy'
          : rel.relkind === 'f'
            ? 'recreate the foreign server and user mapping on the target'
            : 'leave views out of spec.data[].tables; the schema creates them',
    });
  }
  for (const rel of input.sourceTables) {
    const name = formatTable(rel.table);
    if (rel.persistence === 'u') {
      out.push({
        id: 'pg.unlogged-table',
        severity: 'blocker',
        subject: name,
        message: `${name} is UNLOGGED: it writes no WAL, so logical replication cannot carry it`,
        remediation: `ALTER TABLE ${name} SET LOGGED on the source (rewrites the table), or leave it out of spec.data[].tables`,
      });
    }
    if (rel.primaryKey.length === 0 && (rel.replicaIdentity === 'd' || rel.replicaIdentity === 'n')) {
      out.push({
        id: 'pg.no-replica-identity',
        severity: 'blocker',
        subject: name,
        message: `${name} has no primary key and no replica identity: once published, UPDATE and DELETE on it fail on the source`,
        remediation: `add a primary key (ALTER TABLE ${name} ADD PRIMARY KEY (...)), or ALTER TABLE ${name} REPLICA IDENTITY USING INDEX <unique index>, or REPLICA IDENTITY FULL (slow)`,
      });
    } else if (rel.replicaIdentity === 'f') {
      out.push({
        id: 'pg.replica-identity-full',
        severity: 'warning',
        subject: name,
        message: `${name} uses REPLICA IDENTITY FULL: every UPDATE and DELETE is applied on the target by scanning for the whole old row (slow on large tables)`,
        remediation: `add a primary key or a unique index and use REPLICA IDENTITY DEFAULT or USING INDEX`,
      });
    }
    const target = input.targetTables.get(name);
    if (!target) {
      out.push({
        id: 'pg.table-missing',
        severity: 'blocker',
        subject: name,
        message: `${name} exists on the source but not on the target`,
        remediation: `apply the schema on the target first (the service's migrations, or pg_dump --schema-only --table=${name} | psql TARGET)`,
      });
      continue;
    }
    out.push(
      ...columnFindings(
        name,
        input.sourceColumns.get(name) ?? [],
        input.targetColumns.get(name) ?? [],
        input.sourceMajor,
      ),
    );
  }
  return out;
}

function columnFindings(name: string, source: ColumnInfo[], target: ColumnInfo[], sourceMajor: number): Finding[] {
  const out: Finding[] = [];
  const targetByName = new Map(target.map((c) => [c.name, c]));
  const sourceNames = new Set(source.map((c) => c.name));
  for (const col of source) {
    const subject = `${name}.${col.name}`;
    const other = targetByName.get(col.name);
    if (!other) {
      out.push({
        id: 'pg.column-mismatch',
        severity: 'blocker',
        subject,
        message: `column ${col.name} (${col.type}) of ${name} is missing on the target`,
        remediation: `add the column on the target: ALTER TABLE ${name} ADD COLUMN ${pg.escapeIdentifier(col.name)} ${col.type}`,
      });
      continue;
    }
    if (other.type !== col.type) {
      out.push({
        id: 'pg.column-mismatch',
        severity: 'blocker',
        subject,
        message: `column ${col.name} of ${name} is ${col.type} on the source but ${other.type} on the target`,
        remediation: `make the target's column ${col.type} (ALTER TABLE ${name} ALTER COLUMN ${pg.escapeIdentifier(col.name)} TYPE ${col.type})`,
      });
    }
    if (col.generated !== '' || other.generated !== '') {
      const bothGenerated = col.generated !== '' && other.generated !== '';
      out.push({
        id: 'pg.generated-column',
        severity: bothGenerated ? 'info' : 'blocker',
        subject,
        message: bothGenerated
          ? `column ${col.name} of ${name} is generated on both sides; it is not published${sourceMajor >= 18 ? ' (publish_generated_columns is off)' : ' before PostgreSQL 18'} and the target computes its own`
          : col.generated !== ''
            ? `column ${col.name} of ${name} is generated on the source but a plain column on the target: it would stay empty there`
            : `column ${col.name} of ${name} is a plain column on the source but generated on the target: the apply worker cannot write it`,
        remediation: bothGenerated ? '' : 'make the column generated with the same expression on both sides',
      });
    }
  }
  for (const col of target) {
    if (sourceNames.has(col.name) || col.generated !== '') continue;
    if (col.notNull && !col.hasDefault && col.identity === '') {
      out.push({
        id: 'pg.column-mismatch',
        severity: 'blocker',
        subject: `${name}.${col.name}`,
        message: `the target's ${name} has an extra NOT NULL column ${col.name} without a default: replicated inserts would fail`,
        remediation: `give ${col.name} a default on the target, or drop NOT NULL until after cutover`,
      });
    }
  }
  return out;
}

export function sequenceFindings(sequences: SequenceInfo[], targetSequences: Set<string>): Finding[] {
  return sequences.map((seq) => {
    const name = formatTable(seq.sequence);
    const feeds = seq.table ? ` (feeds ${seq.table}.${seq.column ?? '?'}${seq.identity ? ', identity' : ''})` : '';
    if (!targetSequences.has(name)) {
      return {
        id: 'pg.sequence',
        severity: 'blocker' as const,
        subject: name,
        message: `sequence ${name}${feeds} is missing on the target; cutover could not set it`,
        remediation: 'apply the schema on the target with its sequences and identity columns',
      };
    }
    return {
      id: 'pg.sequence',
      severity: 'info' as const,
      subject: name,
      message: `sequence ${name}${feeds} is not replicated; cutover sets it on the target from the source's value`,
      remediation: '',
    };
  });
}

/** Triggers that fire while the apply worker writes (ENABLE REPLICA / ALWAYS), on one side's tables. */
export async function replicaTriggerFindings(
  client: pg.Client,
  site: string,
  tables: readonly RelationInfo[],
): Promise<Finding[]> {
  if (tables.length === 0) return [];
  const result = await client.query<{ tbl: string; tgname: string; mode: string }>(
    `select format('%I.%I', n.nspname, c.relname) as tbl, t.tgname, t.tgenabled::text as mode
       from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where not t.tgisinternal and t.tgenabled in ('R', 'A') and t.tgname not like 'handoff%'
        and (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.table.schema), tables.map((t) => t.table.name)],
  );
  return result.rows.map((row) => ({
    id: 'pg.replica-trigger',
    severity: 'warning' as const,
    subject: `${site}: ${row.tbl} trigger ${row.tgname}`,
    message: `trigger ${row.tgname} on ${row.tbl} is ENABLE ${row.mode === 'A' ? 'ALWAYS' : 'REPLICA'}: it fires for every replicated change, under the apply worker's empty search_path`,
    remediation:
      'make sure it is idempotent and uses schema-qualified names, or ALTER TABLE ... ENABLE TRIGGER (origin only) for the migration',
  }));
}

/** Target tables that already hold rows. */
export async function targetNotEmptyFindings(
  client: pg.Client,
  tables: readonly RelationInfo[],
  preSeeded: boolean,
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const rel of tables) {
    const result = await client.query<{ has: boolean }>(
      `select exists (select 1 from ${quoteTable(rel.table)}) as has`,
    );
    if (!result.rows[0]?.has) continue;
    const name = formatTable(rel.table);
    out.push({
      id: 'pg.target-not-empty',
      severity: preSeeded ? 'warning' : 'blocker',
      subject: name,
      message: preSeeded
        ? `${name} already holds rows on the target; the plan says it was pre-seeded, so the initial copy is skipped and verification must prove it matches`
        : `${name} already holds rows on the target: the initial copy would fail on duplicate keys or duplicate rows`,
      remediation: preSeeded
        ? ''
        : `empty it on the target (TRUNCATE ${name}), or set preSeeded: true in spec.data[] if it was loaded on purpose`,
    });
  }
  return out;
}

/** Foreign keys between planned and unplanned tables: rows the target lacks, TRUNCATE that fails. */
export async function foreignKeyFindings(client: pg.Client, tables: readonly RelationInfo[]): Promise<Finding[]> {
  if (tables.length === 0) return [];
  const r = await client.query<{ name: string; from_table: string; to_table: string; outward: boolean }>(
    `select con.conname as name,
            (select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = con.conrelid) as from_table,
            (select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = con.confrelid) as to_table,
            con.conrelid = any($1::oid[]) as outward
       from pg_constraint con
      where con.contype = 'f' and ((con.conrelid = any($1::oid[])) <> (con.confrelid = any($1::oid[])))`,
    [tables.map((t) => t.oid)],
  );
  return r.rows.map((row) => ({
    id: 'pg.foreign-key-outside',
    severity: 'warning' as const,
    subject: `${row.from_table} → ${row.to_table}`,
    message: row.outward
      ? `${row.from_table} references ${row.to_table}, which is not in the plan: the target needs those rows from elsewhere, and TRUNCATE does not replicate across the boundary`
      : `${row.to_table} is referenced by ${row.from_table}, which is not in the plan: TRUNCATE of ${row.to_table} fails on the target`,
    remediation: `add ${row.outward ? row.to_table : row.from_table} to spec.data[].tables, or make sure the target already holds what it references`,
  }));
}
