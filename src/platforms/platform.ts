/**
 * A platform runs a site's workloads: Kubernetes (`kubernetes/`) or local processes (`local/`).
 * The engine calls it from the provision, finalize and undo steps.
 *
 * Every method is idempotent: called again after a crash it finds what the first call made and
 * converges (provision of running workloads changes nothing; quiesce of a quiesced site returns
 * the record saved the first time; teardown of nothing does nothing). Every wait inside is bounded.
 */
import type { Finding } from '../common/findings.js';
import type { Logger } from '../common/logger.js';

export type SiteName = 'source' | 'target';

export interface PlatformContext {
  runId: string;
  logger: Logger;
  signal?: AbortSignal;
}

export interface ProvisionResult {
  /** What this call created or found running, for the run state and the report. */
  workloads: Array<{ name: string; replicas: number; ready: boolean; detail?: string }>;
}

/** What quiesce changed, so unquiesce can restore it exactly. JSON, stored in the run state. */
export type QuiesceRecord = Record<string, unknown>;

export interface Platform {
  readonly site: SiteName;
  /** Read-only: what stops or endangers the move on this site. Never changes anything. */
  preflight(ctx: PlatformContext): Promise<Finding[]>;
  /** Creates the site's workloads (or finds them) and waits, bounded, until they are ready. */
  provision(ctx: PlatformContext): Promise<ProvisionResult>;
  /** Stops the site's workloads reversibly; returns what it changed. */
  quiesce(ctx: PlatformContext): Promise<QuiesceRecord>;
  /** Restores exactly what quiesce changed. */
  unquiesce(ctx: PlatformContext, record: QuiesceRecord): Promise<void>;
  /** Removes what provision created for this run, and leaves what existed before. */
  teardown(ctx: PlatformContext): Promise<void>;
}
