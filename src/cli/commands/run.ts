import os from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { loadPlanFile } from '../../plan/load.js';
import { STAGE_NAMES, type StageName } from '../../plan/schema.js';
import type { RunOutcome } from '../../engine/executor.js';
import { formatRunPlan } from '../../engine/planner.js';
import type { EngineEnv } from '../../engine/run-session.js';
import { dryRun, startRun } from '../../engine/start.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../main.js';

interface RunFlags {
  file?: string;
  dryRun?: boolean;
  until?: string;
  output?: string;
  stateDir?: string;
  as?: string;
}

/** The engine's view of a command's context (shared by run, status, resume, pause, approve, rollback, abort). */
export function engineEnv(ctx: CliContext, flags: { stateDir?: string; as?: string }): EngineEnv {
  if (flags.as !== undefined && flags.as.trim() === '') throw new UsageError('--as: give a name');
  let actor = flags.as;
  if (actor === undefined) {
    try {
      actor = ctx.env.USER ?? os.userInfo().username;
    } catch {
      actor = 'unknown';
    }
  }
  return {
    stateDir: ctx.stateDir(flags.stateDir),
    env: ctx.env,
    cwd: ctx.cwd,
    redactor: ctx.redactor,
    logger: ctx.logger(),
    actor,
  };
}

/** `--until`/`--stage` values must name a stage. */
export function parseStage(value: string | undefined, flag: string): StageName | null {
  if (value === undefined) return null;
  if (!(STAGE_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`${flag}: "${value}" is not a stage; use one of ${STAGE_NAMES.join(', ')}`);
  }
  return value as StageName;
}

/** Prints a run's outcome (one JSON document with -o json) and returns the exit code. */
export function reportOutcome(ctx: CliContext, format: 'json' | 'text', outcome: RunOutcome): 0 | 1 {
  const { run } = outcome;
  if (format === 'json') {
    ctx.json({
      run: run.id,
      plan: run.planName,
      state: run.state,
      stage: run.stage,
      reason: run.reason,
      error: run.error,
      completed: outcome.completed,
    });
  } else {
    ctx.out(`run ${run.id}: ${run.state}${run.stage ? ` at stage ${run.stage}` : ''}\n`);
    if (run.reason) ctx.out(`  ${run.reason}\n`);
    if (run.error && run.error !== run.reason) ctx.out(`  error: ${run.error}\n`);
  }
  return outcome.completed ? 0 : 1;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('run')
    .description('execute a plan, or resume its unfinished run (--dry-run prints the steps)')
    .requiredOption('-f, --file <plan>', 'the plan file')
    .option('--dry-run', 'print the stages, steps, gates and approvals; change nothing')
    .option('--until <stage>', `stop after this stage (${STAGE_NAMES.join(', ')}); resume goes on`)
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who runs it (default: the OS user)')
    .action(
      run(async (flags: RunFlags) => {
        const format = outputFormat(flags.output);
        const until = parseStage(flags.until, '--until');
        const env = engineEnv(ctx, flags);
        const loaded = loadPlanFile(flags.file as string);
        if (flags.dryRun) {
          const result = dryRun(env, loaded, until);
          if (format === 'json') ctx.json({ ...result.runPlan, refusal: result.refusal });
          else {
            ctx.out(formatRunPlan(result.runPlan));
            if (result.refusal) ctx.out(`a run would be refused now: ${result.refusal}\n`);
          }
          return 0;
        }
        return reportOutcome(ctx, format, await startRun(env, loaded, until));
      }),
    );
}
