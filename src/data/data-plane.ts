/**
 * The data plane: what a database engine must do for a migration. One implementation per engine
 * (`postgres/`), an in-memory fake (`fake/`), and one contract suite (test/contracts) run against both.
 *
 * Work that changes anything is returned as engine steps, one list per stage and per `spec.data[]`
 * entry. The executor records each step as an intent before running it and as done after; after a
 * crash it runs unfinished steps again. So every `run` and every `undo` is idempotent: run twice,
 * it finds what the first run made and goes on, and it never applies a side effect twice.
 */
import type { Finding } from '../common/findings.js';
import type { Redactor } from '../common/redact.js';
import type { DataSpec } from '../plan/schema.js';

/** The engine's stage contract: data-plane work is returned as these steps. */
export type { Step, StepContext } from '../engine/step.js';
import type { Step } from '../engine/step.js';

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

export interface DataPlane {
  /** Read-only checks of one source/target pair; never changes either side. Safe to call any time. */
  preflight(input: DataPreflightInput): Promise<DataPreflightReport>;
  /**
   * replicate: fence the target against application writes, start replication source → target,
   * wait for the initial copy and for a heartbeat marker. Undo removes everything it created.
   */
  replicationSteps(entry: DataSpec): Step[];
  /**
   * cutover: fence the source, wait until the target has every change, sync sequences, re-check
   * what changed since the last clean verification, start reverse replication, open the target.
   * Undo before the target opens restores the source exactly as it was.
   */
  cutoverSteps(entry: DataSpec): Step[];
  /** failback (after cutover): the same in reverse; the source takes writes again. */
  failbackSteps(entry: DataSpec): Step[];
  /** finalize: remove replication in both directions and every object handoff made. */
  finalizeSteps(entry: DataSpec): Step[];
}
