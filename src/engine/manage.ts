/**
 * `handoff resume|pause|rollback|abort|approve RUN`. When the run's executor is alive (it holds the
 * lease), pause, rollback and abort are requests it takes at its next step boundary (an abort also
 * interrupts the running step); when none is, the command acts itself under the lease. Every action
 * is audited under the name of who asked.
 */
import { HandoffError, InputError } from '../common/errors.js';
import { STAGE_NAMES, type StageName } from '../plan/schema.js';
import type { ApprovalRecord, ControlAction } from '../store/requests.js';
import { UNFINISHED_STATES, type RunRecord, type RunState } from '../store/runs.js';
import type { Store } from '../store/store.js';
import type { RunOutcome } from './executor.js';
import { acquireLease, holderIsDead } from './lease.js';
import { requiredApprovals } from './planner.js';
import { executeAudited, loadRunPlan, openRun, withRunEvents, type EngineEnv } from './run-session.js';
import './events.js';

export async function resumeRun(env: EngineEnv, runId: string, until?: StageName | null): Promise<RunOutcome> {
  const { store, run } = openRun(env, runId);
  try {
    if (!UNFINISHED_STATES.includes(run.state)) {
      throw new HandoffError('state.conflict', `run ${runId} is ${run.state}; there is nothing to resume`);
    }
    return await executeAudited(env, {
      store,
      run,
      loaded: loadRunPlan(run),
      mode: 'forward',
      ...(until !== undefined ? { until } : {}),
    });
  } finally {
    store.close();
  }
}

export interface ControlResult {
  run: RunRecord;
  /** True when a live executor was asked to act (at its next step boundary); false when done here. */
  requested: boolean;
  /** The command completed what was asked (exit 0). */
  completed: boolean;
}

const allowed: Record<ControlAction, readonly RunState[]> = {
  pause: ['running', 'paused'],
  abort: ['running', 'paused', 'rolling-back', 'failed'],
  rollback: ['running', 'paused', 'rolling-back', 'failed', 'aborted'],
};

function checkState(run: RunRecord, action: ControlAction): void {
  if (!allowed[action].includes(run.state)) {
    throw new HandoffError(
      'state.conflict',
      `run ${run.id} is ${run.state}; only a ${allowed[action].join(', ')} run can be ${action === 'abort' ? 'aborted' : action === 'pause' ? 'paused' : 'rolled back'}`,
    );
  }
}

/** Asks a live executor to act, recording and auditing the request. */
async function request(env: EngineEnv, store: Store, run: RunRecord, action: ControlAction): Promise<ControlResult> {
  await withRunEvents(store, env, run.id, (events) => {
    store.requests.request(run.id, action, env.actor);
    events.emit(
      'control-requested',
      { action, by: env.actor, state: run.state },
      { actor: env.actor, subject: run.id },
    );
  });
  env.logger.info(`asked the executor of run ${run.id} to ${action}; it acts at its next step boundary`);
  return { run: store.runs.get(run.id) as RunRecord, requested: true, completed: true };
}

/** Takes the lease for a short write, or returns null when a live executor holds it. */
function tryLease(env: EngineEnv, store: Store, runId: string): ReturnType<typeof acquireLease> | null {
  try {
    return acquireLease(store, { runId, ...(env.lease?.ttlMs ? { ttlMs: env.lease.ttlMs } : {}) });
  } catch (error) {
    if (error instanceof HandoffError && error.code === 'lease.held') return null;
    throw error;
  }
}

/** `handoff pause RUN` and `handoff abort RUN`. */
export async function pauseOrAbort(env: EngineEnv, runId: string, action: 'pause' | 'abort'): Promise<ControlResult> {
  const { store, run } = openRun(env, runId);
  try {
    checkState(run, action);
    if (action === 'pause' && run.state === 'paused') return { run, requested: false, completed: true };
    const lease = tryLease(env, store, runId);
    if (!lease) return await request(env, store, run, action);
    try {
      await withRunEvents(store, env, runId, (events) => {
        const by = env.actor;
        const reason = action === 'pause' ? `paused by ${by}` : `aborted by ${by}`;
        store.fenced(lease.fence, () =>
          store.runs.update(
            runId,
            action === 'pause' ? { state: 'paused', reason } : { state: 'aborted', reason, finished: true },
          ),
        );
        const meta = { actor: by, subject: runId };
        if (action === 'pause') events.emit('run-paused', { reason }, meta);
        else {
          events.emit('run-aborted', { by, reason }, meta);
          events.emit('run-finished', { state: 'aborted', reason }, meta);
        }
      });
    } finally {
      lease.release();
    }
    return { run: store.runs.get(runId) as RunRecord, requested: false, completed: true };
  } finally {
    store.close();
  }
}

/** `handoff rollback RUN`: undoes every step done, in reverse, here or by the live executor. */
export async function rollbackCommand(env: EngineEnv, runId: string): Promise<ControlResult> {
  const { store, run } = openRun(env, runId);
  try {
    checkState(run, 'rollback');
    const lease = store.leases.get(runId);
    if (lease && lease.expiresAt > Date.now() && !holderIsDead(lease.holder)) {
      return await request(env, store, run, 'rollback');
    }
    try {
      const outcome = await executeAudited(env, { store, run, loaded: loadRunPlan(run), mode: 'rollback' });
      return { run: outcome.run, requested: false, completed: outcome.completed };
    } catch (error) {
      if (error instanceof HandoffError && error.code === 'lease.held')
        return await request(env, store, run, 'rollback');
      throw error;
    }
  } finally {
    store.close();
  }
}

export interface ApproveInput {
  runId: string;
  stage: string;
  by: string;
  role: string;
}

/** `handoff approve RUN --stage S --as NAME --role R`: recorded with who, role and when; audited. */
export async function approveRun(
  env: EngineEnv,
  input: ApproveInput,
): Promise<{ approval: ApprovalRecord; already: boolean }> {
  if (!(STAGE_NAMES as readonly string[]).includes(input.stage)) {
    throw new InputError(`--stage: "${input.stage}" is not a stage; use one of ${STAGE_NAMES.join(', ')}`);
  }
  const stage = input.stage as StageName;
  const { store, run } = openRun(env, input.runId);
  try {
    if (!UNFINISHED_STATES.includes(run.state)) {
      throw new HandoffError('state.conflict', `run ${run.id} is ${run.state}; approvals are for unfinished runs`);
    }
    const roles = requiredApprovals(loadRunPlan(run).plan, stage).map((item) => item.role);
    if (roles.length === 0) {
      throw new InputError(
        `stage ${stage} of run ${run.id} needs no approval (the plan's spec.approvals has none before ${stage})`,
      );
    }
    if (!roles.includes(input.role)) {
      throw new InputError(
        `role "${input.role}" cannot approve stage ${stage} of run ${run.id}; the plan asks for role ${roles.join(' or ')}`,
      );
    }
    const existing = store.requests.approvals(run.id).find((item) => item.stage === stage && item.role === input.role);
    if (existing) return { approval: existing, already: true };
    const approval = await withRunEvents(store, env, run.id, (events) => {
      const recorded = store.requests.approve(run.id, stage, input.by, input.role);
      events.emit('approval-recorded', { stage, by: input.by, role: input.role }, { actor: input.by, subject: stage });
      store.requests.markAudited(recorded.id);
      return { ...recorded, audited: true };
    });
    return { approval, already: false };
  } finally {
    store.close();
  }
}
