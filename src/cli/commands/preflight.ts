import path from 'node:path';
import type { Command } from 'commander';
import { UsageError, type InputError } from '../../common/errors.js';
import { noBlockers, sortFindings, type Finding } from '../../common/findings.js';
import { parseTablePattern } from '../../data/postgres/catalog.js';
import { runPreflight, type PreflightReport, type SizeEstimate } from '../../data/postgres/preflight.js';
import { createSilentLogger } from '../../common/logger.js';
import { loadPlanFile } from '../../plan/load.js';
import { createKubernetesPlatform } from '../../platforms/kubernetes/kubernetes-platform.js';
import { createKubernetesSecretReader } from '../../platforms/kubernetes/secrets.js';
import { resolveSecrets } from '../../plan/secrets.js';
import { checkKubernetesSecrets } from '../../plan/secret-check.js';
import { formatPath } from '../../plan/path.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../main.js';

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

/**
 * Preflight of every `spec.data[]` entry of a plan (subjects name the database, `orders: public.items`),
 * and of the two clusters when both sites are Kubernetes.
 */
async function planPreflight(ctx: CliContext, file: string): Promise<PlanReport> {
  const loaded = loadPlanFile(path.isAbsolute(file) ? file : path.resolve(ctx.cwd, file));
  const secrets = resolveSecrets(loaded, { env: ctx.env, cwd: ctx.cwd, redactor: ctx.redactor });
  const findings: Finding[] = await checkKubernetesSecrets(loaded.plan, secrets, createKubernetesSecretReader({}, { redactor: ctx.redactor }));
  const unreadable = new Set(findings.map((f) => f.subject));
  const databases: PlanReport['databases'] = [];
  let inputError: InputError | undefined;
  for (const entry of loaded.plan.spec.data) {
    // A database whose URL cannot be read is reported (secret.unreadable) and not connected to.
    if ((['source', 'target'] as const).some((site) => unreadable.has(formatPath(['spec', site, 'databases', entry.database, 'url'])))) {
      databases.push({ database: entry.database, ok: false, estimate: null });
      continue;
    }
    const report = await runPreflight({
      sourceUrl: secrets.databaseUrl('source', entry.database),
      targetUrl: secrets.databaseUrl('target', entry.database),
      tables: entry.tables.map((t) => parseTablePattern(t, `spec.data[${databases.length}].tables`)),
      preSeeded: entry.preSeeded,
      database: entry.database,
      redactor: ctx.redactor,
    });
    findings.push(...report.findings.map((f) => ({ ...f, subject: `${entry.database}: ${f.subject}` })));
    databases.push({ database: entry.database, ok: report.ok, estimate: report.estimate });
    inputError ??= report.inputError;
  }
  // Kubernetes sites: the target's platform preflight compares both clusters (parity, ids k8s.*).
  const plan = loaded.plan;
  if (plan.spec.source.platform.kind === 'kubernetes' && plan.spec.target.platform.kind === 'kubernetes') {
    const platform = createKubernetesPlatform({ site: 'target', plan }, { redactor: ctx.redactor });
    findings.push(...(await platform.preflight({ runId: 'preflight', logger: createSilentLogger() })));
  }
  const sorted = sortFindings(findings);
  const tables = databases.flatMap((d) => (d.estimate ? d.estimate.tables.map((t) => ({ ...t, table: `${d.database}: ${t.table}` })) : []));
  const totalRows = tables.reduce((n, t) => n + t.rows, 0);
  const first = databases.find((d) => d.estimate)?.estimate;
  const estimate: SizeEstimate | null = first
    ? {
        ...first,
        tables,
        totalRows,
        totalBytes: tables.reduce((n, t) => n + t.bytes, 0),
        copySeconds: Math.ceil(totalRows / first.rowsPerSecond),
      }
    : null;
  return { ok: noBlockers(sorted) && databases.every((d) => d.ok), findings: sorted, estimate, databases, ...(inputError ? { inputError } : {}) };
}

function renderText(ctx: CliContext, report: PreflightReport): void {
  const mark: Record<Finding['severity'], string> = { blocker: 'BLOCKER', warning: 'warning', info: 'info' };
  for (const finding of report.findings) {
    ctx.out(`${mark[finding.severity].padEnd(7)}  ${finding.id}  ${finding.subject}\n         ${finding.message}\n`);
    if (finding.remediation) ctx.out(`         fix: ${finding.remediation}\n`);
  }
  if (report.estimate) {
    const e = report.estimate;
    ctx.out(`\nsize: ${e.totalRows} rows, ${(e.totalBytes / 1048576).toFixed(1)} MB in ${e.tables.length} table(s); initial copy ~${e.copySeconds} s at ${e.rowsPerSecond} rows/s\n`);
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
          const { inputError, ...document } = report;
          if (format === 'json') ctx.json(document);
          else renderText(ctx, report);
          if (inputError) throw inputError;
          return report.ok ? 0 : 1;
        }
        const sourceUrl = urlFrom(ctx, flags.source, flags.sourceEnv, 'source');
        const targetUrl = urlFrom(ctx, flags.target, flags.targetEnv, 'target');
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
