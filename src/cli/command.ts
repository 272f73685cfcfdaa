/**
 * What every command shares: the shape of a command module and its runner, the engine's view of a
 * command's context, the flags several commands take, and the outcome printers. Commands import
 * from here, never from each other.
 */
import os from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../common/errors.js';
import type { RunOutcome } from '../engine/executor.js';
import type { ControlResult } from '../engine/manage.js';
import type { EngineEnv } from '../engine/run-session.js';
import { DEFAULT_DECISIONS } from '../engine/status.js';
import { STAGE_NAMES, type StageName } from '../plan/schema.js';
import type { CliContext } from './context.js';

/** A command's action: returns its exit code (0 or 1), or throws. */
export type Action<A extends unknown[]> = (...args: A) => Promise<0 | 1 | void> | 0 | 1 | void;

/** What each commands/<verb>.ts exports. */
export interface CommandModule {
  register(program: Command, ctx: CliContext, run: Runner): void;
}

/** Wraps an action so its result becomes the process exit code. */
export type Runner = <A extends unknown[]>(action: Action<A>) => (...args: A) => Promise<void>;

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

/** Prints what a pause, abort or rollback did (shared by those commands). */
export function reportControl(ctx: CliContext, format: 'json' | 'text', action: string, result: ControlResult): 0 | 1 {
  const { run } = result;
  if (format === 'json') {
    ctx.json({
      run: run.id,
      action,
      requested: result.requested,
      state: run.state,
      stage: run.stage,
      reason: run.reason,
      error: run.error,
    });
  } else if (result.requested) {
    ctx.out(
      `run ${run.id}: asked its executor to ${action}; it acts at the next step boundary (handoff status ${run.id})\n`,
    );
  } else {
    ctx.out(`run ${run.id}: ${run.state}${run.reason ? ` (${run.reason})` : ''}\n`);
    if (run.error) ctx.out(`  error: ${run.error}\n`);
  }
  return result.completed ? 0 : 1;
}

/** `--decisions N`: how many of the last gate decisions to show. */
export function decisionsFlag(value: string | undefined): number {
  if (value === undefined) return DEFAULT_DECISIONS;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw new UsageError(`--decisions: "${value}" is not a count; give a whole number from 1 to 1000`);
  }
  return Number(value);
}
