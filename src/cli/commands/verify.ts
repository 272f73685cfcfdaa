import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { parseDatabaseUrl, parseTableName, type TableName } from '../../data/postgres/connect.js';
import { requireDistinctDatabases } from '../../data/postgres/identifiers.js';
import { verifyAndRepair, type VerifyOutput } from '../../data/postgres/verify/verify-and-repair.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface VerifyFlags {
  source?: string;
  target?: string;
  sourceEnv?: string;
  targetEnv?: string;
  table: string[];
  chunkRows?: string;
  concurrency?: string;
  maxDifferences?: string;
  repair?: boolean;
  withChunks?: boolean;
  output?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('verify')
    .description('compare two PostgreSQL databases to the exact row (read-only unless --repair)')
    .option('--source <url>', 'source database URL (postgresql://USER@HOST:PORT/DB)')
    .option('--target <url>', 'target database URL')
    .option(
      '--source-env <name>',
      'read the source URL from this environment variable (keeps passwords out of process lists)',
    )
    .option('--target-env <name>', 'read the target URL from this environment variable')
    .option(
      '--table <schema.table>',
      'a table to compare (repeatable); every user table of the source when left out',
      collect,
      [],
    )
    .option('--chunk-rows <n>', 'rows per checksum chunk (about)', '10000')
    .option('--concurrency <n>', 'sessions per side', '2')
    .option('--max-differences <n>', 'differing keys reported per table at most', '10000')
    .option('--repair', 'rewrite the divergent rows on the target from the source, then verify again')
    .option('--with-chunks', "include every chunk's key range and hashes in the JSON output")
    .option('-o, --output <format>', 'json or text', 'text')
    .action(
      run(async (flags: VerifyFlags) => {
        const format = outputFormat(flags.output);
        const source = databaseUrl(ctx, flags.source, flags.sourceEnv, '--source');
        const target = databaseUrl(ctx, flags.target, flags.targetEnv, '--target');
        requireDistinctDatabases(source, target);
        const tables: TableName[] = flags.table.map((text) => parseTableName(text, '--table'));
        const chunkRows = wholeNumber(flags.chunkRows, '--chunk-rows', 1, 10_000_000);
        const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1, 32);
        const maxDifferences = wholeNumber(flags.maxDifferences, '--max-differences', 1, 10_000_000);
        const logger = ctx.logger();
        let lastTable = '';
        let lastReport = Date.now();
        const output = await verifyAndRepair({
          source,
          target,
          tables,
          chunkRows,
          concurrency,
          maxDifferences,
          repair: flags.repair ?? false,
          withChunks: flags.withChunks ?? false,
          redactor: ctx.redactor,
          onProgress: (progress) => {
            if (progress.chunksDone === progress.chunksTotal && progress.table !== lastTable) {
              lastTable = progress.table;
              lastReport = Date.now();
              logger.info('table compared', {
                table: progress.table,
                chunks: progress.chunksTotal,
                rows: progress.rowsDone,
              });
            } else if (Date.now() - lastReport >= 5_000) {
              lastReport = Date.now();
              logger.info('comparing', {
                table: progress.table,
                chunks: `${progress.chunksDone}/${progress.chunksTotal}`,
                rows: progress.rowsDone,
              });
            }
          },
        });
        if (format === 'json') ctx.json(output);
        else ctx.out(renderText(output));
        const ok = output.identical || output.repaired?.identicalAfter === true;
        return ok ? 0 : 1;
      }),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function databaseUrl(ctx: CliContext, flag: string | undefined, envName: string | undefined, what: string): string {
  if (flag !== undefined && envName !== undefined) throw new UsageError(`${what} and ${what}-env: give one, not both`);
  if (envName !== undefined) {
    const value = ctx.env[envName];
    if (!value) throw new UsageError(`${what}-env: the environment variable ${envName} is not set`);
    parseDatabaseUrl(value, `${what}-env ${envName}`, ctx.redactor);
    return value;
  }
  if (flag === undefined) throw new UsageError(`${what}: required (or ${what}-env NAME)`);
  parseDatabaseUrl(flag, what, ctx.redactor);
  return flag;
}

function wholeNumber(text: string | undefined, what: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text ?? '') || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what}: "${text}" is not a whole number from ${min} to ${max}`);
  }
  return value;
}

function renderText(output: VerifyOutput): string {
  const lines: string[] = [];
  for (const difference of output.schemaDifferences) lines.push(`schema: ${difference.message}`);
  for (const table of output.tables) {
    const diffs = table.missing.length + table.extra.length + table.changed.length;
    const state =
      table.mismatchedChunks === 0
        ? 'identical'
        : `DIFFERENT (${table.missing.length} missing, ${table.extra.length} extra, ${table.changed.length} changed${table.truncated ? ', list truncated' : ''})`;
    lines.push(`${table.table}: ${table.sourceRows} / ${table.targetRows} rows, ${table.chunks} chunk(s): ${state}`);
    if (diffs > 0) {
      const show = (label: string, keys: string[][]): void => {
        if (keys.length)
          lines.push(
            `  ${label}: ${keys
              .slice(0, 10)
              .map((key) => `(${key.join(', ')})`)
              .join(' ')}${keys.length > 10 ? ` … ${keys.length - 10} more` : ''}`,
          );
      };
      show('missing on target', table.missing);
      show('extra on target', table.extra);
      const columns = new Map(table.changedColumns.map((entry) => [JSON.stringify(entry.key), entry.columns]));
      if (table.changed.length) {
        const described = table.changed.slice(0, 10).map((key) => {
          const names = columns.get(JSON.stringify(key));
          return `(${key.join(', ')})${names && names.length ? ` [${names.join(', ')}]` : ''}`;
        });
        lines.push(
          `  changed: ${described.join(' ')}${table.changed.length > 10 ? ` … ${table.changed.length - 10} more` : ''}`,
        );
      }
    }
  }
  for (const note of output.notes) lines.push(`note: ${note}`);
  if (output.repaired) {
    for (const table of output.repaired.tables) {
      lines.push(
        `repaired ${table.table}: ${table.deleted} deleted, ${table.inserted} inserted, ${table.updated} updated`,
      );
    }
    for (const skipped of output.repaired.skipped) lines.push(`not repaired ${skipped.table}: ${skipped.reason}`);
    lines.push(output.repaired.identicalAfter ? 'after repair: identical' : 'after repair: STILL DIFFERENT');
  }
  lines.push(
    `${output.identical ? 'identical' : 'NOT identical'}: ${output.rowsCompared} rows compared in ${output.elapsedMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}
