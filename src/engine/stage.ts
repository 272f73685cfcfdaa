/**
 * The stage contract: a run is a list of stages in pipeline order; a stage is a list of steps
 * (src/engine/step.ts), optionally followed by a gate. Registries build stages from a plan without I/O.
 */
import type { Migration, StageName } from '../plan/schema.js';
import type { Runtime } from './runtime.js';
import type { Step, StepContext } from './step.js';

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
   * The adapters steps act through (router, data plane, platforms). Stages take the data plane from
   * it while being built (it is made without I/O); everything else is made on first use by a step,
   * so planning (dry run, status) passes a runtime too and nothing is contacted.
   */
  runtime: Runtime;
}

/** Builds the stages of a plan, in pipeline order. */
export type StageRegistry = (plan: Migration, deps: StageDeps) => Stage[];

/** Builds one stage; the default registry is a Record<StageName, StageFactory>. */
export type StageFactory = (plan: Migration, deps: StageDeps) => Stage;
