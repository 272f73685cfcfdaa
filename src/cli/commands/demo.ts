import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { createLogger } from '../../common/logger.js';
import { runDemo } from '../../demo/run-demo.js';
import { formatSummary } from '../../demo/summary.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

interface DemoFlags {
  rate?: string;
  duration?: string;
  control?: string;
  rows?: string;
  keep?: boolean;
  stateDir?: string;
  injectTargetErrors?: string;
  shadow?: string;
  injectTargetDiff?: string;
  output?: string;
  dashboard?: string | boolean;
  rehearse?: boolean;
  rehearseReduced?: boolean;
}

function integer(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag}: "${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is out of range; give ${min} to ${max}`);
  return n;
}

function share(value: string | undefined, flag = '--inject-target-errors'): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw new UsageError(
      `${flag}: "${value}" is not a share of requests; give a number above 0 and at most 1, for example 0.2`,
    );
  }
  return n;
}

function duration(
  value: string | undefined,
  flag: string,
  bounds: { fallback: number; min: number; max: number; range: string },
): number {
  if (value === undefined) return bounds.fallback;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new UsageError(`${flag}: "${value}" is not a duration; write for example 3s or 1500ms`);
  }
  if (ms < bounds.min || ms > bounds.max)
    throw new UsageError(`${flag}: ${value} is out of range; give ${bounds.range}`);
  return ms;
}

/** A path as the user would type it: relative to where they are when that is shorter, quoted when needed. */
function shellPath(cwd: string, dir: string): string {
  const relative = path.relative(cwd, dir);
  const shown = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : dir;
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** The demo's last lines (stderr): the commands that look at what it left, with its state directory. */
function nextSteps(ctx: CliContext, stateDir: string, runId: string, auditKey: string): string {
  const dir = `--state-dir ${shellPath(ctx.cwd, stateDir)}`;
  return (
    '\nlook at the run:\n' +
    `  handoff status ${dir}\n` +
    `  handoff explain ${runId} ${dir}\n` +
    `  handoff report ${runId} ${dir}\n` +
    `  handoff audit verify ${dir} --public-key ${auditKey}\n`
  );
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('demo')
    .description(
      'migrate a live demo service and its database between two local sites, under load, and prove nothing was lost',
    )
    .option('--rate <n>', 'requests per second of the load (default 200)')
    .option('--duration <duration>', 'bake of each shift step and of the bake stage (default 3s)')
    .option('--rows <n>', 'orders in the source database at the start (default 20000)')
    .option(
      '--control <duration>',
      'before the run, this long of the load with nothing migrating, judged by the same latency budget (default 0s)',
    )
    .option('--keep', 'leave everything running at the end and print the addresses')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option(
      '--inject-target-errors <rate>',
      "the target's service answers 5xx at this rate, to show automatic rollback (e.g. 0.2)",
    )
    .option(
      '--shadow <share>',
      'mirror this share of reads to the target before the shift and compare the answers (e.g. 0.2)',
    )
    .option(
      '--inject-target-diff <rate>',
      "the target's service alters one field of this share of its answers, for the shadow stage to find (needs --shadow)",
    )
    .option('-o, --output <format>', 'text or json')
    .option('--dashboard [addr]', 'serve the live dashboard while the demo runs (default 127.0.0.1:7480)')
    .option(
      '--rehearse',
      'a rehearsal: the default faults injected into the run, judged by invariants (docs/rehearsal.md)',
    )
    .option('--rehearse-reduced', 'a reduced rehearsal: three faults, 2000 rows (what npm test runs)')
    .action(
      run(async (flags: DemoFlags) => {
        if (flags.rehearse || flags.rehearseReduced) return (await import('./rehearse.js')).demoRehearsal(ctx, flags);
        const format = outputFormat(flags.output);
        const rate = integer(flags.rate, '--rate', 200, 1, 2000);
        const rows = integer(flags.rows, '--rows', 20_000, 0, 10_000_000);
        const bakeMs = duration(flags.duration, '--duration', {
          fallback: 3000,
          min: 1000,
          max: 600_000,
          range: '1s to 10m',
        });
        const controlMs = duration(flags.control, '--control', {
          fallback: 0,
          min: 0,
          max: 1_800_000,
          range: '0s to 30m',
        });
        const injectTargetErrors = share(flags.injectTargetErrors);
        const shadow = share(flags.shadow, '--shadow');
        const injectTargetDiff = share(flags.injectTargetDiff, '--inject-target-diff');
        if (injectTargetDiff !== null && shadow === null) {
          throw new UsageError(
            '--inject-target-diff: only the shadow stage can see it; add --shadow SHARE, for example --shadow 0.2',
          );
        }
        let actor = 'demo';
        try {
          actor = ctx.env.USER ?? os.userInfo().username;
        } catch {
          /* keep "demo" */
        }
        const stateDir = ctx.stateDir(flags.stateDir);
        const { dashboardFromFlag } = await import('../../dashboard/start-flag.js');
        const dashboard = await dashboardFromFlag({
          flag: flags.dashboard,
          stateDir,
          env: ctx.env,
          redactor: ctx.redactor,
          logger: ctx.logger(),
          write: (text) => ctx.err(text),
        });
        let result: Awaited<ReturnType<typeof runDemo>>;
        try {
          result = await runDemo({
            stateDir,
            rate,
            bakeMs,
            rows,
            keep: flags.keep ?? false,
            injectTargetErrors,
            shadow,
            injectTargetDiff,
            env: ctx.env,
            cwd: ctx.cwd,
            redactor: ctx.redactor,
            // Progress comes from the run's events (below); the log says only what went wrong.
            logger: createLogger({
              format: 'text',
              level: 'warn',
              redactor: ctx.redactor,
              write: (line) => ctx.err(line),
            }),
            actor,
            write: (text) => ctx.err(text),
            verbose: ctx.isTTY,
            controlMs,
          });
        } finally {
          await dashboard?.close();
        }
        const { summary, addresses, auditKey } = result;
        if (format === 'json') ctx.json(addresses ? { ...summary, addresses } : summary);
        else {
          ctx.out(formatSummary(summary));
          if (addresses) {
            ctx.out('still running (--keep); stop them with kill, or the next demo ends them:\n');
            for (const [name, value] of Object.entries(addresses)) ctx.out(`  ${name.padEnd(16)} ${value}\n`);
          }
        }
        ctx.err(nextSteps(ctx, stateDir, summary.runId, auditKey));
        const code = summary.ok ? 0 : 1;
        if (addresses) {
          // --keep: the children run on by design, and their handles would keep this process
          // waiting for them; leave once the output is written (the signal handlers are removed).
          setTimeout(() => process.exit(code), 500).unref();
        }
        return code;
      }),
    );
}
