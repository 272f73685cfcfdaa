/**
 * The data plane: what a database engine must do for a migration. One implementation per engine
 * (`postgres/`), an in-memory fake (`fake/`), and one contract suite (test/contracts) run against both.
 *
 * It is the engine's only door to databases: work is returned as engine steps, one list per stage and
 * per `spec.data[]` entry (the cutover's in three phases around the router's hold), and the one
 * measurement the traffic stages need, replication lag, is a method. The executor records each step
 * as an intent before running it and as done after; after a crash it runs unfinished steps again. So
 * every `run` and every `undo` is idempotent: run twice, it finds what the first run made and goes on,
 * and it never applies a side effect twice.
 *
 * Settings (bounds, pacing of background work) are the implementation's factory options, made by the
 * runtime from the plan (src/engine/adapters.ts), so the interface does not change when they grow.
 */
import type { Finding } from '../common/findings.js';
import type { Redactor } from '../common/redact.js';
import type { DataSpec } from '../plan/schema.js';

/** The engine's stage contract: data-plane work is returned as these steps. */
export type { Step, StepContext } from '../engine/step.js';
import type { Step, StepContext } from '../engine/step.js';

export interface DataPreflightInput {
  entry: DataSpec;
  sourceUrl: string;
  targetUrl: string;
  redactor?: Redactor;
}

export interface SizeEstimateSummary {
  totalRows: number;
  totalBytes: number;
  copySeconds: number;
}

export interface DataPreflightReport {
  ok: boolean;
  findings: Finding[];
  estimate: SizeEstimateSummary | null;
}

/**
 * The cutover of one database in the three phases the router's hold is placed between: the traffic
 * stage runs every entry's `beforeHold`, holds requests, runs every `underHold`, moves and releases
 * them, then runs every `afterHold`. Clients wait only for `underHold`.
 */
export interface CutoverPhases {
  /** Nothing is fenced yet and nothing waits: checks and preparations (lag bound, reverse set-up, settling changed rows). */
  beforeHold: Step[];
  /** From fencing the source to opening the target: the write pause. */
  underHold: Step[];
  /** After the held requests are released: clean-up nobody needs to wait for. */
  afterHold: Step[];
}

/** The cutover's steps in the order they run (for callers that hold nothing, such as tests). */
export function cutoverInOrder(phases: CutoverPhases): Step[] {
  return [...phases.beforeHold, ...phases.underHold, ...phases.afterHold];
}

export interface DataPlane {
  /** Read-only checks of one source/target pair; never changes either side. Safe to call any time. */
  preflight(input: DataPreflightInput): Promise<DataPreflightReport>;
  /**
   * replicate: fence the target against application writes, start replication source → target,
   * wait for the initial copy and for a heartbeat marker. Undo removes everything it created.
   */
  replicationSteps(entry: DataSpec): Step[];
  /**
   * verify: compare every planned table on both sites (counts, schema, chunked checksums) while
   * replication runs; a difference that lasts after the target caught up fails the step
   * (CheckFailedError). A clean pass lets cutover re-check only what changed since. Changes nothing
   * on either site apart from handoff's own bookkeeping.
   */
  verificationSteps(entry: DataSpec): Step[];
  /**
   * cutover: fence the source, wait until the target has every change, sync sequences, re-check
   * what changed since the last clean verification, start reverse replication, open the target.
   * Undo before the target opens restores the source exactly as it was.
   */
  cutoverSteps(entry: DataSpec): CutoverPhases;
  /** failback (after cutover): the same in reverse; the source takes writes again. */
  failbackSteps(entry: DataSpec): Step[];
  /**
   * finalize: let reverse replication deliver the target's last writes to the source (bounded, never
   * failing), then remove replication in both directions and every object handoff made.
   */
  finalizeSteps(entry: DataSpec): Step[];
  /**
   * bake (when `access.rotation` is set): the rotate-credentials action, blue/green between two login
   * roles of one group role. Optional: engines without it offer no rotation.
   */
  credentialRotationSteps?(entry: DataSpec): Step[];
  /**
   * Replication lag source → target in ms, measured end to end (a heartbeat through replication),
   * within `timeoutMs` or it throws. Emits `replication-lag`. Safe to call at any time during a run.
   */
  lag(ctx: StepContext, entry: DataSpec, timeoutMs: number): Promise<number>;
}
