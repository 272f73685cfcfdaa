/**
 * The executor: performs a run's stages under the run's lease. For each step it writes the intent
 * (idempotency key, lease epoch) in a transaction that checks the epoch, acts, and writes done
 * (checking again; together with the next step's intent when one follows at once, so a boundary
 * costs one commit and one audit append). Steps already done are not run again; steps left as
 * intents (a crash) are replayed. A step that fails with a transient error is tried again under the
 * retry policy (step-retry.ts). A step that fails for good, or a failed gate, rolls everything back
 * in reverse order when `spec.rollback.automatic`, else pauses the run. Control requests are taken
 * at every step boundary; an abort request also aborts the running step's signal.
 */
import { HandoffError } from '../common/errors.js';
import type { EventBus } from '../common/events.js';
import { untilReason } from './events.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { RunRecord, RunState } from '../store/runs.js';
import type { Store } from '../store/store.js';
import { waitForApprovals } from './approvals.js';
import { stageTimeoutMs, withBound } from './bound.js';
import { handleControl, pendingControl } from './control.js';
import { acquireLease } from './lease.js';
import { rollbackRun, type Stop } from './rollback.js';
import { emit, errorText, stepContext, updateRun, write, type Session } from './session.js';
import { attemptStep } from './step-retry.js';
import type { ResolvedSecrets, Step } from './step.js';
import type { GateResult, Stage } from './stage.js';

export interface ExecuteOptions {
  store: Store;
  runId: string;
  plan: Migration;
  stages: Stage[];
  secrets: ResolvedSecrets;
  redactor: Redactor;
  logger: Logger;
  events: EventBus;
  /** forward: run (or resume) the stages. rollback: undo what was done. */
  mode: 'forward' | 'rollback';
  /** Who asked (a user name for `resume`/`rollback`); recorded in events. */
  actor?: string;
  lease?: { holder?: string; ttlMs?: number; renewEveryMs?: number };
  /** How often waits poll the store for approvals and control requests. Default 1 s. */
  pollMs?: number;
  /** Stop after this stage (null: run to the end); undefined keeps what the run has. */
  until?: StageName | null;
}

export interface RunOutcome {
  run: RunRecord;
  /** The run got where it was asked to go: finished, stopped at `--until`, or rolled back on request. */
  completed: boolean;
}

const RESUMABLE: readonly RunState[] = ['running', 'paused'];
const ROLLBACKABLE: readonly RunState[] = ['running', 'paused', 'rolling-back', 'failed', 'aborted'];

export async function executeRun(options: ExecuteOptions): Promise<RunOutcome> {
  const { store, runId } = options;
  const lease = acquireLease(store, { runId, ...options.lease });
  const controller = new AbortController();
  let lostError: HandoffError | null = null;
  lease.startHeartbeat((error) => {
    lostError = error;
    controller.abort(error);
  });
  const session: Session = {
    store,
    runId,
    fence: lease.fence,
    plan: options.plan,
    stages: options.stages,
    secrets: options.secrets,
    redactor: options.redactor,
    logger: options.logger.child({ run: runId }),
    events: options.events,
    signal: controller.signal,
    pollMs: options.pollMs ?? 1000,
    lost: () => lostError,
  };
  // An abort request interrupts the running step; other requests wait for the step boundary.
  const watcher = setInterval(() => {
    try {
      if (store.requests.pending(runId).some((request) => request.action === 'abort')) {
        controller.abort(new HandoffError('state.conflict', `run ${runId} was aborted`));
      }
    } catch {
      // busy store: the next tick looks again
    }
  }, session.pollMs);
  watcher.unref();
  try {
    emit(session, 'lease-acquired', { epoch: lease.fence.epoch, holder: lease.fence.holder });
    const run = store.runs.get(runId);
    if (!run) throw new HandoffError('not-found', `run ${runId} does not exist`);
    let stop: Stop;
    const actor = options.actor ?? 'engine';
    if (options.mode === 'rollback') {
      if (!ROLLBACKABLE.includes(run.state)) {
        throw new HandoffError(
          'state.conflict',
          `run ${runId} is ${run.state}; only a ${ROLLBACKABLE.join(', ')} run can be rolled back`,
        );
      }
      stop = await rollbackRun(session, `rollback requested by ${actor}`, true);
    } else if (run.state === 'rolling-back' || run.state === 'failed') {
      stop = await rollbackRun(session, run.reason ?? `rollback resumed by ${actor}`, false);
    } else if (RESUMABLE.includes(run.state)) {
      if (options.until !== undefined) updateRun(session, { until: options.until });
      stop = await forward(session, run, actor);
    } else {
      throw new HandoffError('state.conflict', `run ${runId} is ${run.state}; there is nothing to resume`);
    }
    return { run: store.runs.get(runId) as RunRecord, completed: stop.completed };
  } catch (error) {
    if (error instanceof HandoffError && error.code === 'lease.lost') {
      emit(session, 'lease-lost', { epoch: lease.fence.epoch, error: error.message });
    } else if (!(error instanceof HandoffError)) {
      // Unexpected (a bug, a full disk): keep the run resumable and say what happened.
      try {
        updateRun(session, { error: errorText(session, error) });
      } catch {
        // the store itself failed; the error is reported by the caller
      }
    }
    throw error;
  } finally {
    clearInterval(watcher);
    lease.release();
  }
}

async function forward(session: Session, run: RunRecord, actor: string): Promise<Stop> {
  const { store, runId } = session;
  if (run.state === 'paused') {
    updateRun(session, { state: 'running', reason: null });
    emit(session, 'run-resumed', { by: actor }, runId, actor);
  } else {
    updateRun(session, { reason: null });
  }
  if (store.steps.stages(runId).length === 0) {
    emit(session, 'run-started', { plan: run.planName, planHash: run.planHash, dryRun: false }, runId, actor);
  }
  for (const stage of session.stages) {
    const recorded = store.steps.stages(runId).find((item) => item.stage === stage.name);
    if (recorded && (recorded.state === 'done' || recorded.state === 'skipped')) {
      // Killed between the end of the `--until` stage and its pause: pause now, never run past it.
      if (store.runs.get(runId)?.until === stage.name) return pauseAtUntil(session, stage.name);
      continue;
    }
    const early = await boundary(session);
    if (early) return early;
    if (stage.skip) {
      const reason = stage.skip;
      write(session, () => store.steps.setStage(runId, stage.name, 'skipped', reason));
      emit(session, 'stage-skipped', { stage: stage.name, reason }, stage.name);
    } else {
      const stopped = (await waitForApprovals(session, stage.name)) ?? (await runStage(session, stage));
      if (stopped) return stopped;
    }
    if (store.runs.get(runId)?.until === stage.name) return pauseAtUntil(session, stage.name);
  }
  updateRun(session, { state: 'succeeded', reason: null, finished: true });
  emit(session, 'run-finished', { state: 'succeeded' });
  return { completed: true };
}

/** Stops after the `--until` stage: the run is paused and `--until` is spent. */
function pauseAtUntil(session: Session, stage: string): { completed: true } {
  const reason = untilReason(stage);
  updateRun(session, { state: 'paused', reason, until: null });
  emit(session, 'run-paused', { reason }, stage);
  return { completed: true };
}

/** Takes a pending control request, if any. */
async function boundary(session: Session): Promise<Stop | null> {
  const request = pendingControl(session);
  return request ? handleControl(session, request) : null;
}

async function runStage(session: Session, stage: Stage): Promise<Stop | null> {
  const { store, runId } = session;
  write(session, () => {
    store.steps.setStage(runId, stage.name, 'running');
    store.runs.update(runId, { stage: stage.name });
  });
  emit(session, 'stage-started', { stage: stage.name }, stage.name);
  // A step's done record waits for the next step's intent: both go in one commit and one audit
  // append, and the done is still durable before the next step acts. Anything else that comes
  // after a step (a control request, the gate, the stage's end) first writes it alone.
  let finished: Finished | null = null;
  const recordDone = (done: Finished): void =>
    store.steps.done(runId, stage.name, done.step.name, session.fence.epoch, done.result);
  const settle = (): void => {
    if (finished === null) return;
    const done = finished;
    finished = null;
    write(session, () => recordDone(done));
    emitDone(session, stage, done);
  };
  for (const step of stage.steps) {
    if (store.steps.get(runId, stage.name, step.name)?.state === 'done') continue;
    const request = pendingControl(session);
    if (request) {
      settle();
      return handleControl(session, request);
    }
    const done = finished;
    finished = null;
    const record = write(session, () => {
      if (done) recordDone(done);
      return store.steps.intent(runId, stage.name, step.name, session.fence.epoch);
    });
    session.events.batch(() => {
      if (done) emitDone(session, stage, done);
      emit(
        session,
        'step-intent',
        { stage: stage.name, step: step.name, key: record.key, epoch: record.epoch },
        record.key,
      );
    });
    const outcome = await attemptStep(session, stage, step, record.key);
    if (outcome.kind === 'interrupted') {
      const lost = session.lost();
      if (lost) throw lost;
      const request = pendingControl(session);
      // A request ends the wait early; the step stays an intent and runs again on resume.
      if (request) return handleControl(session, request);
      const reason = `the wait to retry step ${step.name} of stage ${stage.name} was interrupted; \`handoff resume ${runId}\` to try again`;
      updateRun(session, { state: 'paused', reason });
      emit(session, 'run-paused', { reason }, stage.name);
      return { completed: false };
    }
    if (outcome.kind === 'failed') {
      const error = outcome.error;
      const lost = session.lost();
      if (lost) throw lost;
      const request = pendingControl(session);
      if (request?.action === 'abort') return handleControl(session, request);
      const message = errorText(session, error);
      if (error instanceof HandoffError && error.code === 'run.hold') {
        // Neither done nor failed: the step stays an intent, and resume runs it again.
        const reason = `step ${step.name} of stage ${stage.name} holds the run: ${message}; \`handoff resume ${runId}\` to try again, or \`handoff rollback ${runId}\``;
        updateRun(session, { state: 'paused', reason });
        emit(session, 'run-paused', { reason }, stage.name);
        return { completed: false };
      }
      const tries = outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : '';
      write(session, () => store.steps.failed(runId, stage.name, step.name, session.fence.epoch, message));
      emit(
        session,
        'step-failed',
        { stage: stage.name, step: step.name, key: record.key, error: message, attempts: outcome.attempts },
        record.key,
      );
      return fail(session, stage, `step ${step.name} of stage ${stage.name} failed${tries}: ${message}`);
    }
    finished = { step, key: record.key, result: outcome.result, attempts: outcome.attempts };
  }
  settle();
  if (stage.gate) {
    const early = await boundary(session);
    if (early) return early;
    const decision = await evaluateGate(session, stage);
    if (decision === null) {
      // An abort arrived while the gate was measuring: it wins over the gate's (aborted) measurement.
      const request = pendingControl(session);
      if (request) return handleControl(session, request);
      return { completed: false };
    }
    if (decision.outcome === 'Fail')
      return fail(session, stage, `the gate of stage ${stage.name} failed: ${decision.reason}`);
    if (decision.outcome !== 'Pass') {
      const reason = `the gate of stage ${stage.name} decided ${decision.outcome}: ${decision.reason}; resume to evaluate it again`;
      updateRun(session, { state: 'paused', reason });
      emit(session, 'run-paused', { reason }, stage.name);
      return { completed: false };
    }
  }
  write(session, () => store.steps.setStage(runId, stage.name, 'done'));
  emit(session, 'stage-done', { stage: stage.name }, stage.name);
  return null;
}

/** A step that ended well and whose done record is not written yet. */
interface Finished {
  step: Step;
  key: string;
  result: unknown;
  attempts: number;
}

function emitDone(session: Session, stage: Stage, done: Finished): void {
  emit(
    session,
    'step-done',
    { stage: stage.name, step: done.step.name, key: done.key, result: done.result, attempts: done.attempts },
    done.key,
  );
}

/** The gate's decision, recorded; null when an abort request arrived while it ran (nothing recorded). */
async function evaluateGate(session: Session, stage: Stage): Promise<GateResult | null> {
  const key = `${session.runId}/${stage.name}/gate`;
  let decision: GateResult;
  try {
    const ctx = stepContext(session, stage.name, key);
    const gate = stage.gate as NonNullable<Stage['gate']>;
    decision = await withBound(
      ctx.signal,
      stageTimeoutMs(session.plan, stage.name),
      `the gate of stage ${stage.name}`,
      (signal) => gate({ ...ctx, signal }),
    );
  } catch (error) {
    const lost = session.lost();
    if (lost) throw lost;
    if (pendingControl(session)?.action === 'abort') return null;
    decision = { outcome: 'Error', reason: errorText(session, error) };
  }
  const checks = decision.checks ?? [];
  write(session, () =>
    session.store.records.addGateDecision({
      runId: session.runId,
      stage: stage.name,
      outcome: decision.outcome,
      reason: decision.reason,
      details: checks,
      epoch: session.fence.epoch,
    }),
  );
  emit(
    session,
    'gate-decided',
    { gate: stage.name, outcome: decision.outcome, reason: decision.reason, checks },
    stage.name,
  );
  return decision;
}

/** A step or gate failed: roll back everything when automatic, else pause with the reason. */
async function fail(session: Session, stage: Stage, reason: string): Promise<Stop> {
  write(session, () => session.store.steps.setStage(session.runId, stage.name, 'failed', reason));
  emit(session, 'stage-failed', { stage: stage.name, error: reason }, stage.name);
  updateRun(session, { error: reason });
  if (session.plan.spec.rollback.automatic) return rollbackRun(session, reason, false);
  const paused = `${reason}; fix the cause and \`handoff resume ${session.runId}\`, or \`handoff rollback ${session.runId}\``;
  updateRun(session, { state: 'paused', reason: paused });
  emit(session, 'run-paused', { reason: paused }, stage.name);
  return { completed: false };
}
