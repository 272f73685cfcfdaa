import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../../common/errors.js';
import type { Finding } from '../../common/findings.js';
import { parseTablePattern } from '../../data/postgres/catalog.js';
import { requireDistinctDatabases } from '../../data/postgres/identifiers.js';
import { runPreflight, type PreflightReport, type SizeEstimate } from '../../data/postgres/preflight.js';
import { createSilentLogger } from '../../common/logger.js';
import { loadPlanFile } from '../../plan/load.js';
import { preflightPlan } from '../../engine/preflight-plan.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface PreflightFlags {
  source?: string;
  target?: string;
  sourceEnv?: string;
  targetEnv?: string;
  table?: string[];
  preSeeded?: boolean;
  file?: string;
  output?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A URL from a flag or from an environment variable named by `--x-env` (keeps passwords out of `ps`). */
function urlFrom(ctx: CliContext, flag: string | undefined, envName: string | undefined, site: string): string {
  if (flag && envName) throw new UsageError(`--${site} and --${site}-env: give one of them, not both`);
  if (envName) {
    const value = ctx.env[envName];
    if (!value) throw new UsageError(`--${site}-env: environment variable ${envName} is not set or empty`);
    return value;
  }
  if (!flag) throw new UsageError(`--${site} URL (or --${site}-env NAME) is required`);
  return flag;
}

interface PlanReport extends PreflightReport {
  databases: Array<{ database: string; ok: boolean; estimate: SizeEstimate | null }>;
}

/** A database's estimate as the data check reports it; the PostgreSQL data plane's carries its tables. */
const databaseEstimate = z.object({
  database: z.string(),
  ok: z.boolean(),
  estimate: z
    .object({
      tables: z
        .array(z.object({ table: z.string(), rows: z.number(), bytes: z.number(), exact: z.boolean() }))
        .default([]),
      totalRows: z.number(),
      totalBytes: z.number(),
      copySeconds: z.number(),
      rowsPerSecond: z.number().positive().default(1),
      basis: z.string().default(''),
    })
    .nullable(),
});

/** One size estimate over every database of the plan (table names prefixed with their database). */
function combineEstimates(databases: PlanReport['databases']): SizeEstimate | null {
  const tables = databases.flatMap((d) =>
    d.estimate ? d.estimate.tables.map((t) => ({ ...t, table: `${d.database}: ${t.table}` })) : [],
  );
  const first = databases.find((d) => d.estimate)?.estimate;
  if (!first) return null;
  const totalRows = databases.reduce((n, d) => n + (d.estimate?.totalRows ?? 0), 0);
  return {
    ...first,
    tables,
    totalRows,
    totalBytes: databases.reduce((n, d) => n + (d.estimate?.totalBytes ?? 0), 0),
    copySeconds: Math.ceil(totalRows / first.rowsPerSecond),
  };
}

/**
 * The one preflight of a plan (`engine/preflight-checks.ts`): secrets, both sites' platforms, every
 * `spec.data[]` entry (subjects name the database, `orders: public.items`) and the router, exactly
 * the findings the run's preflight stage would stop on.
 */
async function planPreflight(ctx: CliContext, file: string): Promise<PlanReport> {
  const planFile = path.isAbsolute(file) ? file : path.resolve(ctx.cwd, file);
  const loaded = loadPlanFile(planFile);
  const result = await preflightPlan(loaded, {
    planFile,
    env: ctx.env,
    redactor: ctx.redactor,
    logger: createSilentLogger(),
    stateDir: ctx.stateDir(),
  });
  const details = result.components.find((c) => c.component === 'data')?.details.estimates;
  const databases: PlanReport['databases'] = z.array(databaseEstimate).parse(details ?? []);
  return { ok: result.ok, findings: result.findings, estimate: combineEstimates(databases), databases };
}

function renderText(ctx: CliContext, report: PreflightReport): void {
  const mark: Record<Finding['severity'], string> = { blocker: 'BLOCKER', warning: 'warning', info: 'info' };
  for (const finding of report.findings) {
    ctx.out(`${mark[finding.severity].padEnd(7)}  ${finding.id}  ${finding.subject}\n         ${finding.message}\n`);
    if (finding.remediation) ctx.out(`         fix: ${finding.remediation}\n`);
  }
  if (report.estimate) {
    const e = report.estimate;
    ctx.out(
      `\nsize: ${e.totalRows} rows, ${(e.totalBytes / 1048576).toFixed(1)} MB in ${e.tables.length} table(s); initial copy ~${e.copySeconds} s at ${e.rowsPerSecond} rows/s\n`,
    );
  }
  const blockers = report.findings.filter((f) => f.severity === 'blocker').length;
  ctx.out(report.ok ? 'preflight: no blockers\n' : `preflight: ${blockers} blocker(s)\n`);
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('preflight')
    .description('find every blocker before anything changes (read-only)')
    .option('--source <url>', 'source database URL (postgresql://USER@HOST:PORT/DB)')
    .option('--target <url>', 'target database URL')
    .option('--source-env <name>', 'read the source URL from this environment variable')
    .option('--target-env <name>', 'read the target URL from this environment variable')
    .option('--table <schema.table>', 'a table or schema.* pattern to check (repeatable; default public.*)', collect)
    .option('--pre-seeded', 'the target tables were loaded on purpose (pg.target-not-empty becomes a warning)')
    .option('-f, --file <plan>', 'check every database of a plan file')
    .option('-o, --output <format>', 'text or json')
    .action(
      run(async (flags: PreflightFlags) => {
        const format = outputFormat(flags.output);
        if (flags.file) {
          if (flags.source || flags.target || flags.sourceEnv || flags.targetEnv || flags.table) {
            throw new UsageError('-f: give either a plan file or --source/--target/--table, not both');
          }
          const report = await planPreflight(ctx, flags.file);
          if (format === 'json') ctx.json(report);
          else renderText(ctx, report);
          return report.ok ? 0 : 1;
        }
        const sourceUrl = urlFrom(ctx, flags.source, flags.sourceEnv, 'source');
        const targetUrl = urlFrom(ctx, flags.target, flags.targetEnv, 'target');
        requireDistinctDatabases(sourceUrl, targetUrl);
        const tables = (flags.table ?? ['public.*']).map((t) => parseTablePattern(t, '--table'));
        const report = await runPreflight({
          sourceUrl,
          targetUrl,
          tables,
          preSeeded: flags.preSeeded ?? false,
          redactor: ctx.redactor,
        });
        const { inputError, ...document } = report;
        if (format === 'json') ctx.json(document);
        else renderText(ctx, report);
        if (inputError) throw inputError;
        return report.ok ? 0 : 1;
      }),
    );
}
