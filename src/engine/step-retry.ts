/**
 * A step's attempts under its retry policy (the plan's `spec.retry`, with the step's own `retry`
 * over it). Each attempt records the step's intent again (the store counts attempts) and runs the
 * step with the same idempotency key, exactly as a replay after a crash would: a step that is not
 * safe to run again declares `retry: false`. A failed attempt is a `step-attempt-failed` event
 * (attempt, code, redacted message, the delay before the next attempt or why there is none). The
 * wait between attempts ends early on an abort, a pause or rollback request, or a lost lease.
 * The stage's timeout bounds all attempts of a step together, waits included.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HandoffError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';
import { DEFAULT_RETRY_POLICY, decideRetry, errorCodeOf, type RetryPolicy } from '../common/retry.js';
import type { Migration } from '../plan/schema.js';
import { stageTimeoutMs, withBound } from './bound.js';
import { pendingControl } from './control.js';
import { emit, errorText, stepContext, write, type Session } from './session.js';
import type { Step } from './step.js';
import type { Stage } from './stage.js';

/** The policy a step runs under: the plan's defaults, the step's fields over them; false: one attempt. */
export function retryPolicyFor(plan: Migration, step: Pick<Step, 'retry'>): RetryPolicy {
  const spec = plan.spec.retry;
  const base: RetryPolicy = {
    initialIntervalMs: parseDuration(spec.initialInterval),
    backoffCoefficient: spec.backoffCoefficient,
    maximumIntervalMs: parseDuration(spec.maximumInterval),
    maximumAttempts: spec.maximumAttempts,
    jitter: spec.jitter,
    nonRetryable: spec.nonRetryable,
  };
  if (step.retry === false) return { ...base, maximumAttempts: 1 };
  return { ...DEFAULT_RETRY_POLICY, ...base, ...step.retry };
}

export type StepOutcome =
  | { kind: 'done'; result: unknown; attempts: number }
  /** The last cause; the caller decides between lease loss, abort, hold and failure. */
  | { kind: 'failed'; error: unknown; attempts: number }
  /** A control request (or an abort, or a lost lease) arrived while waiting to retry. */
  | { kind: 'interrupted'; attempts: number };

export interface AttemptOptions {
  /** A number in [0, 1) for the jitter; Math.random unless a test fixes it. */
  random?: () => number;
}

/**
 * Runs the step until it succeeds, fails with an error that is not retried, or the policy is
 * exhausted. The first intent is already recorded as `key`.
 */
export async function attemptStep(
  session: Session,
  stage: Stage,
  step: Step,
  key: string,
  options: AttemptOptions = {},
): Promise<StepOutcome> {
  const policy = retryPolicyFor(session.plan, step);
  const random = options.random ?? Math.random;
  const boundMs = stageTimeoutMs(session.plan, stage.name);
  const deadline = boundMs === null ? null : Date.now() + boundMs;
  const what = `step ${step.name} of stage ${stage.name}`;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) {
      const record = session.store.steps.get(session.runId, stage.name, step.name);
      // A done record means the step's effects are in place: never run it again.
      if (record?.state === 'done') return { kind: 'done', result: record.result, attempts: attempt - 1 };
      const again = write(session, () =>
        session.store.steps.intent(session.runId, stage.name, step.name, session.fence.epoch),
      );
      emit(session, 'step-intent', { stage: stage.name, step: step.name, key, epoch: again.epoch, attempt }, key);
    }
    try {
      const ctx = stepContext(session, stage.name, key);
      const left = deadline === null ? null : Math.max(0, deadline - Date.now());
      const result = await withBound(ctx.signal, left, what, (signal) => step.run({ ...ctx, signal }), boundMs);
      return { kind: 'done', result, attempts: attempt };
    } catch (error) {
      if (stopsAtOnce(session, error)) return { kind: 'failed', error, attempts: attempt };
      const decision = decideRetry(policy, attempt, error, random());
      const outOfTime = decision.retry && deadline !== null && Date.now() + decision.delayMs >= deadline;
      const delayMs = decision.retry && !outOfTime ? decision.delayMs : null;
      const next = !decision.retry ? decision.why : outOfTime ? 'stage-timeout' : 'retry';
      emit(
        session,
        'step-attempt-failed',
        {
          stage: stage.name,
          step: step.name,
          key,
          attempt,
          maxAttempts: policy.maximumAttempts,
          code: errorCodeOf(error),
          error: errorText(session, error),
          delayMs,
          next,
        },
        key,
      );
      // The event is the log line too (observers.ts logs it as a warning).
      if (delayMs === null) return { kind: 'failed', error, attempts: attempt };
      if (!(await waitToRetry(session, delayMs))) return { kind: 'interrupted', attempts: attempt };
    }
  }
}

/** Lease loss, an abort and a hold are the executor's to handle: no retry, no attempt event. */
function stopsAtOnce(session: Session, error: unknown): boolean {
  if (session.lost()) return true;
  if (error instanceof HandoffError && error.code === 'run.hold') return true;
  return session.signal.aborted || pendingControl(session)?.action === 'abort';
}

/** Waits `ms`, polling for control requests; false when interrupted (abort, request, lost lease). */
async function waitToRetry(session: Session, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (session.signal.aborted || session.lost() || pendingControl(session)) return false;
    const left = until - Date.now();
    if (left <= 0) return true;
    try {
      await sleep(Math.min(left, session.pollMs), undefined, { signal: session.signal });
    } catch {
      return false;
    }
  }
}
