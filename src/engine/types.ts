/**
 * The stage contract: what the postgres, router, gates and platform stages implement so the engine
 * can run, resume and undo them.
 *
 * A run is a list of stages; a stage is a list of steps, optionally followed by a gate. The engine
 * records each step as an intent (idempotency key `RUN/STAGE/STEP`, lease epoch) before calling
 * `run`, and as done after it returns. A crash between the two means the step runs again on resume,
 * so `run` must be idempotent: key every side effect by `ctx.key` (create-if-absent, compare-and-
 * set, "ensure" semantics), or record what it did in `ctx.state` before acting.
 *
 * Undo walks back every step that may have acted (intent, failed or done) in reverse order, so
 * `undo` must be idempotent too and must tolerate a step that never acted or acted only in part.
 */
import type { EventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { ResolvedSecrets } from '../plan/secrets.js';
import type { Runtime } from './runtime.js';

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
}

export const GATE_OUTCOMES = ['Pass', 'Fail', 'Inconclusive', 'Error', 'NoData'] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

export interface GateResult {
  /** Pass: go on. Fail: the run fails (rollback or pause). Anything else: the run pauses with the reason. */
  outcome: GateOutcome;
  reason: string;
  /** What was measured: value, threshold, sample size, per check. Stored and audited (redacted). */
  checks?: Array<Record<string, unknown>>;
}

export interface Stage {
  name: StageName;
  /** Why the stage is skipped, if it is (for example "the plan has no data section"). */
  skip?: string;
  steps: Step[];
  /** Evaluated after the steps; its own waits must be bounded. Context `key` is `RUN/STAGE/gate`. */
  gate?(ctx: StepContext): Promise<GateResult>;
}

/** What a registry may use to build stages. Building stages does no I/O. */
export interface StageDeps {
  /** Writes a signed audit checkpoint (finalize uses it). */
  checkpoint(reason: string): void;
  /**
   * The adapters steps act through (router, data plane, platforms), made from the plan. Absent when
   * stages are only planned (dry run, status); a step that needs it then fails as an internal error.
   */
  runtime?: Runtime;
}

/** Builds the stages of a plan, in pipeline order. */
export type StageRegistry = (plan: Migration, deps: StageDeps) => Stage[];

/** Builds one stage; the default registry is a Record<StageName, StageFactory>. */
export type StageFactory = (plan: Migration, deps: StageDeps) => Stage;
