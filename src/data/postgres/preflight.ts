/**
 * PostgreSQL preflight for one source/target database pair: every finding that should stop or warn
 * a migration before anything changes, plus a size and copy-time estimate for the risk report.
 * Strictly read-only: every session runs in a read-only transaction mode.
 */
import type pg from 'pg';
import { HandoffError, InputError, messageOf } from '../../common/errors.js';
import { sortFindings, noBlockers, type Finding } from '../../common/findings.js';
import type { Redactor } from '../../common/redact.js';
import { connect, formatTable, parseDatabaseUrl, quoteTable } from './connect.js';
import {
  describeColumns,
  describeRelations,
  describeSequences,
  resolveTables,
  type RelationInfo,
  type TablePattern,
} from './catalog.js';
import {
  capacityFindings,
  commitFindings,
  collationFindings,
  extensionFindings,
  failoverSlotFindings,
  fenceFindings,
  largeObjectFindings,
  longTransactionFindings,
  privilegeFindings,
  readServerFacts,
  versionFindings,
  walHeadroomFindings,
  walLevelFindings,
  type Site,
} from './preflight-server.js';
import {
  foreignKeyFindings,
  replicaTriggerFindings,
  sequenceFindings,
  tableFindings,
  targetNotEmptyFindings,
} from './preflight-tables.js';
import { readAccess } from './roles-catalog.js';
import { accessFindings } from './grants-diff.js';

/** Native tablesync measured on a 2-core machine (DESIGN.md, "Data plane"). */
export const TABLESYNC_ROWS_PER_SECOND = 250_000;

export interface TableEstimate {
  table: string;
  rows: number;
  bytes: number;
  /** False when rows come from planner statistics (reltuples) rather than a count. */
  exact: boolean;
}

export interface SizeEstimate {
  tables: TableEstimate[];
  totalRows: number;
  totalBytes: number;
  copySeconds: number;
  rowsPerSecond: number;
  basis: string;
}

export interface PreflightOptions {
  sourceUrl: string;
  targetUrl: string;
  tables: readonly TablePattern[];
  preSeeded?: boolean;
  /** The database's name in the plan, used in subjects when several are checked. */
  database?: string;
  redactor?: Redactor;
  /** Transactions open longer than this are reported (seconds); 60 by default. */
  longTransactionSeconds?: number;
  connectTimeoutMs?: number;
}

export interface PreflightReport {
  ok: boolean;
  findings: Finding[];
  estimate: SizeEstimate | null;
  /** Set when a connection failed because of bad input (wrong password, unknown database or host). */
  inputError?: InputError;
}

async function open(url: string, site: Site, options: PreflightOptions): Promise<pg.Client | Finding | InputError> {
  try {
    const client = await connect(url, {
      name: site,
      applicationName: 'handoff-preflight',
      statementTimeoutMs: 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      ...(options.redactor ? { redactor: options.redactor } : {}),
    });
    await client.query('set default_transaction_read_only = on');
    return client;
  } catch (error) {
    if (error instanceof InputError && /authentication|does not exist|not found/.test(error.message)) return error;
    if (error instanceof InputError) throw error; // a malformed URL: nothing to report
    const display = parseDatabaseUrl(url, site).display;
    const message =
      error instanceof HandoffError ? error.message : `${site} (${display}): cannot connect: ${messageOf(error)}`;
    return {
      id: 'pg.connect',
      severity: 'blocker',
      subject: site,
      message: options.redactor ? options.redactor.redact(message) : message,
      remediation: `check that the ${site} server is reachable from here and accepts this user (pg_hba.conf, network policy, firewall)`,
    };
  }
}

function connectFinding(site: Site, error: InputError): Finding {
  return {
    id: 'pg.connect',
    severity: 'blocker',
    subject: site,
    message: error.message,
    remediation: `check the ${site} URL's user, password reference and database name`,
  };
}

export async function runPreflight(options: PreflightOptions): Promise<PreflightReport> {
  // Bad URLs are bad input: fail before connecting anywhere.
  parseDatabaseUrl(options.sourceUrl, 'source', options.redactor);
  parseDatabaseUrl(options.targetUrl, 'target', options.redactor);
  const [src, tgt] = await Promise.all([
    open(options.sourceUrl, 'source', options),
    open(options.targetUrl, 'target', options),
  ]);
  const clients = [src, tgt].filter((c): c is pg.Client => typeof (c as pg.Client).query === 'function');
  try {
    const early: Finding[] = [];
    let inputError: InputError | undefined;
    for (const [site, result] of [
      ['source', src],
      ['target', tgt],
    ] as const) {
      if (result instanceof InputError) {
        early.push(connectFinding(site, result));
        inputError ??= result;
      } else if (!(typeof (result as pg.Client).query === 'function')) {
        early.push(result as Finding);
      }
    }
    if (early.length > 0) return { ok: false, findings: early, estimate: null, ...(inputError ? { inputError } : {}) };
    return await checkPair(src as pg.Client, tgt as pg.Client, options);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

async function checkPair(source: pg.Client, target: pg.Client, options: PreflightOptions): Promise<PreflightReport> {
  const resolved = await resolveTables(source, options.tables);
  if (resolved.missing.length > 0) {
    throw new InputError(
      `table ${resolved.missing.map(formatTable).join(', ')} does not exist on the source${options.database ? ` (database ${options.database})` : ''}; check spec.data[].tables or --table`,
    );
  }
  const tables = resolved.tables;
  const names = tables.map((t) => t.table);
  const [sourceFacts, targetFacts] = await Promise.all([
    readServerFacts(source, 'source'),
    readServerFacts(target, 'target'),
  ]);
  const [targetTables, sourceColumns, sequences] = await Promise.all([
    describeRelations(target, names),
    describeColumns(source, names),
    describeSequences(source, names),
  ]);
  const targetColumns = await describeColumns(target, names);
  const targetSequenceRows = await target.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'S'`,
  );
  const present = tables.filter((t) => targetTables.has(formatTable(t.table)));
  const presentOnTarget = present.map((t) => targetTables.get(formatTable(t.table)) as RelationInfo);
  const estimate = await estimateSize(source, tables);
  // Roles and grants: the target's snapshot also looks up every role the source's application uses.
  const sourceAccess = await readAccess(source, names);
  const targetAccess = await readAccess(
    target,
    presentOnTarget.map((t) => t.table),
    [...sourceAccess.roles.keys()],
  );
  const lobColumns = [...sourceColumns.entries()].flatMap(([table, cols]) =>
    cols.filter((c) => c.type === 'oid' || c.type === 'lo').map((c) => `${table}.${c.name}`),
  );

  const findings: Finding[] = [
    ...versionFindings(sourceFacts, targetFacts),
    ...walLevelFindings(sourceFacts),
    ...walLevelFindings(targetFacts),
    ...capacityFindings(sourceFacts),
    ...capacityFindings(targetFacts),
    ...commitFindings(sourceFacts),
    ...commitFindings(targetFacts),
    ...privilegeFindings(sourceFacts, tables),
    ...privilegeFindings(targetFacts, presentOnTarget),
    ...tableFindings({
      sourceTables: tables,
      unreplicated: resolved.unreplicated,
      targetTables,
      sourceColumns,
      targetColumns,
      sourceMajor: sourceFacts.major,
      targetMajor: targetFacts.major,
    }),
    ...sequenceFindings(sequences, new Set(targetSequenceRows.rows.map((r) => r.name))),
    ...(await largeObjectFindings(source, 'source', lobColumns)),
    ...extensionFindings(sourceFacts, targetFacts),
    ...collationFindings(sourceFacts, targetFacts),
    ...(await replicaTriggerFindings(target, 'target', presentOnTarget)),
    ...(await replicaTriggerFindings(source, 'source', tables)),
    ...(await walHeadroomFindings(source, sourceFacts, estimate.totalBytes)),
    ...(await longTransactionFindings(source, 'source', options.longTransactionSeconds ?? 60)),
    ...(await targetNotEmptyFindings(target, presentOnTarget, options.preSeeded ?? false)),
    ...(await foreignKeyFindings(source, tables)),
    ...(await fenceFindings(source, tables)),
    ...(await failoverSlotFindings(source, sourceFacts)),
    ...accessFindings(sourceAccess, targetAccess, options.database),
  ];
  if (tables.length === 0) {
    findings.push({
      id: 'pg.table-missing',
      severity: 'blocker',
      subject: options.tables.map((p) => p.text).join(', ') || 'tables',
      message: 'the table patterns match no table on the source',
      remediation: 'check spec.data[].tables (or --table): schema names are case-sensitive when quoted',
    });
  }
  // Whatever the plan's URLs hold (a password, or none: PGPASSWORD, a password file), the
  // subscriptions connect as the run's own role with a password of its own.
  findings.push({
    id: 'pg.subscription-password',
    severity: 'info',
    subject: 'target: pg_subscription',
    message:
      "the subscription on the target (and, from the cutover, the reverse one on the source) stores its connection string in pg_subscription (readable by superusers): the password of the run's own replication role (random, dropped with the subscription), never the password of the plan's URL",
    remediation:
      "nothing to do for most: that password opens only the run's replication role, which reads only the migrated tables and is dropped with its subscription; keep superuser access to the subscriber's catalog as narrow as the data itself (docs/postgres.md)",
  });
  if (estimate.copySeconds > 3600) {
    findings.push({
      id: 'pg.copy-time',
      severity: 'warning',
      subject: 'source',
      message: `the initial copy of ${estimate.totalRows} rows is estimated at ${Math.round(estimate.copySeconds / 60)} min at ${TABLESYNC_ROWS_PER_SECOND} rows/s; the slot retains WAL for all of it`,
      remediation: 'check WAL headroom and plan the replicate stage timeout accordingly',
    });
  }
  const sorted = sortFindings(findings);
  return { ok: noBlockers(sorted), findings: sorted, estimate };
}

/** A never-analysed table up to this size is counted; a larger one is estimated from its size. */
const COUNT_UNANALYSED_MAX_BYTES = 256 * 1024 * 1024;
const UNANALYSED_BYTES_PER_ROW = 100;

async function estimateSize(client: pg.Client, tables: readonly RelationInfo[]): Promise<SizeEstimate> {
  const out: TableEstimate[] = [];
  for (const rel of tables) {
    let rows = rel.estimatedRows;
    let exact = false;
    if (rows < 0 && rel.bytes <= COUNT_UNANALYSED_MAX_BYTES) {
      // Never analysed, and small: count (count(*) runs at ~20 M rows/s).
      const counted = await client.query<{ n: string }>(`select count(*) as n from ${quoteTable(rel.table)}`);
      rows = Number(counted.rows[0]?.n ?? 0);
      exact = true;
    } else if (rows < 0) {
      // Never analysed and large: a full scan of a production table is not preflight's to make;
      // estimate from its size instead (ANALYZE gives a better figure).
      rows = rel.bytes / UNANALYSED_BYTES_PER_ROW;
    }
    out.push({ table: formatTable(rel.table), rows: Math.round(rows), bytes: rel.bytes, exact });
  }
  const totalRows = out.reduce((sum, t) => sum + t.rows, 0);
  const totalBytes = out.reduce((sum, t) => sum + t.bytes, 0);
  return {
    tables: out,
    totalRows,
    totalBytes,
    copySeconds: Math.ceil(totalRows / TABLESYNC_ROWS_PER_SECOND),
    rowsPerSecond: TABLESYNC_ROWS_PER_SECOND,
    basis: 'native logical replication tablesync measured at ~0.25 M rows/s on 2 shared cores',
  };
}
