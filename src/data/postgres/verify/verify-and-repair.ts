/**
 * What `handoff verify` does, as one call: verify; with repair, rewrite what differs and verify the
 * repaired tables again. Returns the output document (the JSON, plus schema differences,
 * notes and what repair changed).
 */
import { connect, parseTableName, type TableName } from '../connect.js';
import { InputError, isHandoffError } from '../../../common/errors.js';
import type { Redactor } from '../../../common/redact.js';
import { repair, type RepairReport } from './repair.js';
import type { SchemaDifference, TableReport, VerifyProgress, VerifyReport } from './types.js';
import { verifyTables } from './verify-tables.js';

export interface VerifyAndRepairOptions {
  source: string;
  target: string;
  tables?: readonly TableName[];
  chunkRows?: number;
  concurrency?: number;
  maxDifferences?: number;
  repair?: boolean;
  /** Include every chunk's boundaries and hashes in the output. */
  withChunks?: boolean;
  redactor?: Redactor;
  signal?: AbortSignal;
  onProgress?: (progress: VerifyProgress) => void;
}

/** One table of the command's output: the report's facts without its internals (columns, timing). */
export type TableSummary = Omit<TableReport, 'identical' | 'columns' | 'partial' | 'elapsedMs' | 'chunkDetails'> & {
  chunkDetails?: TableReport['chunkDetails'];
};

export interface VerifyOutput {
  identical: boolean;
  rowsCompared: number;
  elapsedMs: number;
  tables: TableSummary[];
  schemaDifferences: SchemaDifference[];
  notes: string[];
  /** With repair: what it changed, and the verification of the repaired tables afterwards. */
  repaired?: RepairReport & { identicalAfter: boolean; tablesAfter: TableSummary[] };
}

export async function verifyAndRepair(options: VerifyAndRepairOptions): Promise<VerifyOutput> {
  const started = Date.now();
  await checkReachable(options.source, 'source', options.redactor);
  await checkReachable(options.target, 'target', options.redactor);
  const common = {
    source: options.source,
    target: options.target,
    ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.maxDifferences ? { maxDifferences: options.maxDifferences } : {}),
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const report = await verifyTables({
    ...common,
    ...(options.tables ? { tables: options.tables } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const output: VerifyOutput = {
    identical: report.identical,
    rowsCompared: report.rowsCompared,
    elapsedMs: 0,
    tables: report.tables.map((table) => summarise(table, options.withChunks ?? false)),
    schemaDifferences: report.schemaDifferences,
    notes: [...report.notes, ...report.tables.flatMap((table) => table.notes)],
  };
  if (options.repair && !report.identical) {
    output.repaired = await repairAndRecheck(report, common, options.withChunks ?? false, options.redactor);
  }
  output.elapsedMs = Date.now() - started;
  return output;
}

async function repairAndRecheck(
  report: VerifyReport,
  common: Parameters<typeof verifyTables>[0],
  withChunks: boolean,
  redactor?: Redactor,
): Promise<NonNullable<VerifyOutput['repaired']>> {
  const done = await repair(report, {
    source: common.source,
    target: common.target,
    ...(redactor ? { redactor } : {}),
  });
  const touched = done.tables.map((table) => parseTableName(table.table, 'table'));
  let after: VerifyReport | null = null;
  if (touched.length > 0) after = await verifyTables({ ...common, tables: touched });
  const skipped = done.skipped.length > 0 || report.schemaDifferences.length > 0;
  return {
    ...done,
    identicalAfter: !skipped && (after?.identical ?? true),
    tablesAfter: after ? after.tables.map((table) => summarise(table, withChunks)) : [],
  };
}

function summarise(table: TableReport, withChunks: boolean): TableSummary {
  return {
    table: table.table,
    sourceRows: table.sourceRows,
    targetRows: table.targetRows,
    chunks: table.chunks,
    mismatchedChunks: table.mismatchedChunks,
    missing: table.missing,
    extra: table.extra,
    changed: table.changed,
    changedColumns: table.changedColumns,
    method: table.method,
    primaryKey: table.primaryKey,
    truncated: table.truncated,
    notes: table.notes,
    ...(withChunks ? { chunkDetails: table.chunkDetails } : {}),
  };
}

/** Connects once and leaves; any failure here is the user's URL or credentials (exit 2). */
async function checkReachable(url: string, name: string, redactor?: Redactor): Promise<void> {
  try {
    const client = await connect(url, { name, connectTimeoutMs: 10_000, ...(redactor ? { redactor } : {}) });
    await client.end();
  } catch (error) {
    if (isHandoffError(error) && error.code === 'input.invalid') throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(redactor ? redactor.redact(message) : message);
  }
}
