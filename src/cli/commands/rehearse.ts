/**
 * `handoff rehearse -f plan.yaml` and `handoff demo --rehearse` (issue 13, docs/rehearsal.md): the
 * plan's faults (`spec.rehearsal.faults`, or the default schedule for the demo) injected into a real
 * run of the demo's plan under load, judged by invariants. Exit 0 when every invariant holds, 1 on a
 * violation, 2 on bad input (a plan without `spec.rehearsal`, or one whose sites it cannot build).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { createLogger } from '../../common/logger.js';
import { DEMO_PLAN_NAME } from '../../demo/demo-plan.js';
import { loadPlanFile } from '../../plan/load.js';
import type { RehearsalFault } from '../../plan/schema.js';
import { defaultSchedule } from '../../rehearsal/default-schedule.js';
import { injectFault } from '../../rehearsal/inject.js';
import { formatRehearsal } from '../../rehearsal/format.js';
import { runRehearsal } from '../../rehearsal/run-rehearsal.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

export interface RehearseSettings {
  faults: readonly RehearsalFault[];
  rows: number;
  bakeMs: number;
  rate: number;
  stateDir: string;
  format: 'text' | 'json';
}

/** The test-only broken variants (HANDOFF_TEST_BROKEN), as the services' environment. */
function brokenEnv(ctx: CliContext): Record<string, string> | undefined {
  const broken = ctx.env.HANDOFF_TEST_BROKEN;
  if (broken === undefined || broken === '') return undefined;
  if (broken === 'apply-twice') return { INJECT_APPLY_TWICE: '1' };
  throw new UsageError(`HANDOFF_TEST_BROKEN: "${broken}" is not a broken variant; the one there is: apply-twice`);
}

/** Runs a rehearsal and prints its result; the exit code. */
export async function rehearse(ctx: CliContext, settings: RehearseSettings): Promise<0 | 1> {
  const extraEnv = brokenEnv(ctx);
  const result = await runRehearsal(
    {
      stateDir: settings.stateDir,
      faults: settings.faults,
      rows: settings.rows,
      bakeMs: settings.bakeMs,
      rate: settings.rate,
      redactor: ctx.redactor,
      logger: createLogger({ format: 'text', level: 'warn', redactor: ctx.redactor, write: (line) => ctx.err(line) }),
      write: (text) => ctx.err(text),
      ...(extraEnv ? { extraEnv } : {}),
    },
    { inject: injectFault },
  );
  if (settings.format === 'json') ctx.json(result);
  else ctx.out(formatRehearsal(result));
  return result.ok ? 0 : 1;
}

function integer(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag}: "${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is out of range; give ${min} to ${max}`);
  return n;
}

interface RehearseFlags {
  file: string;
  stateDir?: string;
  output?: string;
  rows?: string;
  rate?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('rehearse')
    .description(
      "run the demo's plan with the plan's faults injected (spec.rehearsal) under load, and judge it by invariants",
    )
    .requiredOption(
      '-f, --file <plan>',
      "the plan (today: the demo's plan, as handoff demo writes it, with spec.rehearsal)",
    )
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--rows <n>', 'orders in the source database at the start (default 2000)')
    .option('--rate <n>', 'requests per second of the load (default 60)')
    .option('-o, --output <format>', 'text or json')
    .action(
      run(async (flags: RehearseFlags) => {
        const format = outputFormat(flags.output);
        const rows = integer(flags.rows, '--rows', 2000, 0, 200_000);
        const rate = integer(flags.rate, '--rate', 60, 1, 2000);
        const file = path.resolve(ctx.cwd, flags.file);
        const { plan } = loadPlanFile(file);
        const faults = plan.spec.rehearsal?.faults;
        if (faults === undefined)
          throw new UsageError(
            `-f ${flags.file}: spec.rehearsal: the plan has no rehearsal section; add spec.rehearsal.faults (docs/rehearsal.md)`,
          );
        if (plan.metadata.name !== DEMO_PLAN_NAME)
          throw new UsageError(
            `-f ${flags.file}: metadata.name: handoff rehearse can build only the demo's two local sites today (two embedded PostgreSQL servers, the demo service, the built-in router), so it runs only the demo's plan (metadata.name ${DEMO_PLAN_NAME}, as handoff demo writes it); "${plan.metadata.name}" would need sites it cannot provide`,
          );
        const bake = plan.spec.traffic?.reads.bake;
        return rehearse(ctx, {
          faults,
          rows,
          rate,
          bakeMs: bake === undefined ? 1500 : parseDuration(bake),
          stateDir: ctx.stateDir(flags.stateDir),
          format,
        });
      }),
    );
}

/** `handoff demo --rehearse` (the default schedule) and `--rehearse-reduced` (its reduced form, run in `npm test`). */
export function demoRehearsal(
  ctx: CliContext,
  flags: {
    keep?: boolean;
    shadow?: string;
    injectTargetErrors?: string;
    injectTargetDiff?: string;
    dashboard?: string | boolean;
    rows?: string;
    rate?: string;
    duration?: string;
    stateDir?: string;
    output?: string;
    rehearseReduced?: boolean;
    control?: string;
  },
): Promise<0 | 1> {
  const reduced = flags.rehearseReduced === true;
  const flag = reduced ? '--rehearse-reduced' : '--rehearse';
  for (const [name, value] of Object.entries({
    '--keep': flags.keep,
    '--shadow': flags.shadow,
    '--inject-target-errors': flags.injectTargetErrors,
    '--inject-target-diff': flags.injectTargetDiff,
    '--dashboard': flags.dashboard,
    '--control': flags.control,
  }))
    if (value !== undefined)
      throw new UsageError(`${name}: not with ${flag} (a rehearsal runs the demo's plan as it is, with its faults)`);
  let bakeMs = reduced ? 1000 : 3000;
  if (flags.duration !== undefined) {
    try {
      bakeMs = parseDuration(flags.duration);
    } catch {
      throw new UsageError(`--duration: "${flags.duration}" is not a duration; write for example 3s or 1500ms`);
    }
  }
  return rehearse(ctx, {
    faults: defaultSchedule({ reduced }),
    rows: integer(flags.rows, '--rows', reduced ? 2000 : 10_000, 0, 200_000),
    rate: integer(flags.rate, '--rate', reduced ? 60 : 100, 1, 2000),
    bakeMs,
    stateDir: ctx.stateDir(flags.stateDir),
    format: outputFormat(flags.output),
  });
}
