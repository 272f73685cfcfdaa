/**
 * The step contract: the smallest durable unit of a run, what the data plane, the router, the gates
 * and the platforms implement so the engine can run, resume and undo their work.
 *
 * The engine records each step as an intent (idempotency key `RUN/STAGE/STEP`, lease epoch) before
 * calling `run`, and as done after it returns. A crash between the two means the step runs again on
 * resume, so `run` must be idempotent: key every side effect by `ctx.key` (create-if-absent, compare-
 * and-set, "ensure" semantics), or record what it did in `ctx.state` before acting.
 *
 * Undo walks back every step that may have acted (intent, failed or done) in reverse order, so
 * `undo` must be idempotent too and must tolerate a step that never acted or acted only in part.
 */
import type { EventBus } from '../common/events.js';
import type { RetryPolicy } from '../common/retry.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { ResolvedSecrets } from '../plan/secrets.js';

/** Secret references resolved late; every value returned is registered with the redactor first. */
export type { ResolvedSecrets };

/** Durable key/value state of a run (JSON values), shared by its steps; e.g. what a fence changed. */
export interface StepState {
  get<T = unknown>(key: string): T | undefined;
  /** Written at once (fenced by the lease); the value is redacted before it is stored. */
  set(key: string, value: unknown): void;
}

export interface StepContext {
  runId: string;
  stage: StageName;
  /** `RUN/STAGE/STEP`: the idempotency key to tag side effects with. */
  key: string;
  /** The lease epoch this executor holds; carry it into external compare-and-set writes. */
  epoch: number;
  plan: Migration;
  events: EventBus;
  logger: Logger;
  redactor: Redactor;
  secrets: ResolvedSecrets;
  /** Aborted when the run is aborted or the lease is lost: stop promptly. */
  signal: AbortSignal;
  state: StepState;
}

export interface Step {
  /** Unique within its stage; kebab-case. Part of the idempotency key: never rename a shipped step. */
  name: string;
  /** Idempotent: may run again after a crash between its intent and its done record. Returns a small JSON result. */
  run(ctx: StepContext): Promise<unknown>;
  /** Idempotent; tolerates a step that never acted. Absent: the step changes nothing that needs undoing. */
  undo?(ctx: StepContext): Promise<void>;
  /**
   * How a transient failure is retried: fields over the plan's `spec.retry`, or false for a step that
   * is not safe to run again at once (it fails on its first error). See engine/step-retry.ts.
   */
  retry?: Partial<RetryPolicy> | false;
}
