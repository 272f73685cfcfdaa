/**
 * `handoff run`: a dry run prints the planner's output and writes nothing; a run resumes the plan's
 * unfinished run when there is one (same plan hash), refuses a changed plan while one is
 * unfinished, and otherwise starts a new run.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HandoffError } from '../common/errors.js';
import type { LoadedPlan } from '../plan/load.js';
import type { StageName } from '../plan/schema.js';
import { resolveSecrets } from '../plan/secrets.js';
import type { RunRecord } from '../store/runs.js';
import { openStore } from '../store/store.js';
import type { RunOutcome } from './executor.js';
import { planRun, type RunPlan } from './planner.js';
import { executeAudited, planningDeps, type EngineEnv } from './run-session.js';
import { defaultRegistry } from './stages/index.js';

/** `PLAN-YYYYMMDD-HHMMSS-xxxx`: sortable, and says which plan it runs. */
export function newRunId(planName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${planName}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export interface DryRun {
  runPlan: RunPlan;
  /** Why a real run would be refused right now, if it would. */
  refusal: string | null;
}

function changedPlanError(unfinished: RunRecord, loaded: LoadedPlan): HandoffError {
  return new HandoffError(
    'state.conflict',
    `plan ${loaded.plan.metadata.name} has an unfinished run ${unfinished.id} (${unfinished.state}` +
      `${unfinished.stage ? ` at stage ${unfinished.stage}` : ''}) started from a different version of the plan ` +
      `(hash ${unfinished.planHash.slice(0, 12)}, now ${loaded.hash.slice(0, 12)}); finish that run first ` +
      `(handoff resume ${unfinished.id}, or handoff rollback ${unfinished.id}, or handoff abort ${unfinished.id}), ` +
      'or restore the plan it started with',
    { details: { run: unfinished.id, runPlanHash: unfinished.planHash, planHash: loaded.hash } },
  );
}

/** What `run` would do: the stages, steps, gates and approvals, with what an unfinished run has done. */
export function dryRun(env: EngineEnv, loaded: LoadedPlan, until: StageName | null): DryRun {
  const registry = env.registry ?? defaultRegistry;
  const stages = registry(loaded.plan, planningDeps(env));
  const store = openStore({ stateDir: env.stateDir, create: false, readOnly: true, redactor: env.redactor });
  try {
    const unfinished = store?.runs.findUnfinished(loaded.plan.metadata.name);
    if (!store || !unfinished) return { runPlan: planRun({ plan: loaded.plan, stages, until }), refusal: null };
    if (unfinished.planHash !== loaded.hash) {
      return {
        runPlan: planRun({ plan: loaded.plan, stages, until }),
        refusal: changedPlanError(unfinished, loaded).message,
      };
    }
    const observed = {
      id: unfinished.id,
      state: unfinished.state,
      stages: store.steps.stages(unfinished.id),
      steps: store.steps.list(unfinished.id),
      approvals: store.requests.approvals(unfinished.id),
    };
    return { runPlan: planRun({ plan: loaded.plan, stages, until, observed }), refusal: null };
  } finally {
    store?.close();
  }
}

/** Starts the plan, or resumes its unfinished run. Secrets are resolved before anything is written. */
export async function startRun(env: EngineEnv, loaded: LoadedPlan, until: StageName | null): Promise<RunOutcome> {
  const planFile = path.resolve(env.cwd, loaded.file);
  // Bad or missing secrets are bad input: found before the state directory is touched.
  resolveSecrets(loaded, { env: env.env, cwd: env.cwd, redactor: env.redactor });
  const store = openStore({ stateDir: env.stateDir, create: true, redactor: env.redactor });
  if (!store) throw new HandoffError('internal', 'the state store could not be created');
  try {
    let run = store.runs.findUnfinished(loaded.plan.metadata.name);
    if (run && run.planHash !== loaded.hash) throw changedPlanError(run, loaded);
    if (run) {
      env.logger.info(`resuming the unfinished run ${run.id} of plan ${run.planName}`, { state: run.state });
    } else {
      run = store.runs.create({
        id: newRunId(loaded.plan.metadata.name),
        planName: loaded.plan.metadata.name,
        planHash: loaded.hash,
        planFile,
        planText: loaded.text,
        until,
      });
      env.logger.info(`started run ${run.id} of plan ${run.planName}`);
    }
    return await executeAudited(env, { store, run, loaded: { ...loaded, file: planFile }, mode: 'forward', until });
  } finally {
    store.close();
  }
}
