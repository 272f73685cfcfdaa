/**
 * The contract between a rehearsal's runner (which decides when each fault of the plan's
 * `spec.rehearsal.faults` is injected and cleared, and judges the run) and the injectors (which
 * know how to cause one kind of fault and take it away again). Injectors do no scheduling and no
 * judging; the runner touches no socket, signal or database to cause a fault.
 */
import type { Logger } from '../../common/logger.js';
import type { FaultProxy } from '../../faultproxy/fault-proxy.js';
import type { Invariants } from '../check/invariants.js';
import type { RehearsalFault } from '../../plan/schema.js';

export type FaultKind = RehearsalFault['kind'];
export type NetworkPath = Extract<RehearsalFault, { kind: 'network' }>['path'];
export type ProcessTarget = Extract<RehearsalFault, { kind: 'process' }>['target'];
export type SiteName = 'source' | 'target';

/** What the rehearsal's environment offers the injectors; a fault whose target is missing is an input error. */
export interface FaultEnvironment {
  /** The fault proxy every network path goes through, and the proxy's name for each path there is. */
  faultProxy?: FaultProxy;
  proxyFor: Partial<Record<NetworkPath, string>>;
  /** The live pid of a process target, or undefined when it is not running (or not known). */
  pidOf(target: ProcessTarget): number | undefined;
  /** Starts a killed process target again (the executor: `handoff resume`), bounded; resolves once it runs. */
  restart(target: ProcessTarget): Promise<void>;
  /** The HTTP fault shim in front of each site's service (errors and added latency), when there is one. */
  httpShim: Partial<Record<SiteName, HttpFaultShim>>;
  /** Superuser connection strings for the two databases (never logged: they may hold a password). */
  databaseUrl: Record<SiteName, string>;
  /** The application's login role (the default target of a password change) and the plan's tables. */
  appRole: string;
  tables: readonly string[];
  /** Secret references of the plan are resolved through this (a password-change fault's password). */
  resolveSecret(ref: unknown, where: string): string;
  /**
   * Optional: told the new password after a password-change fault rotated a role's password on a
   * site, as a secrets manager hands a rotation to the services. Bounded by the injector. The
   * password must not be logged; keep it only where the services read their credentials (the demo
   * service: its 0600 credentials file, DATABASE_URL_FILE, which it watches and swaps pools on).
   * Without it, services keep their old password: open sessions go on, new logins fail.
   */
  passwordRotated?(rotation: { site: SiteName; role: string; password: string }): Promise<void>;
  logger: Logger;
}

export interface HttpFaultShim {
  /** The URL the router should use for this site's service instead of the service's own. */
  readonly url: string;
  set(faults: { errorRate: number; latencyMs: number }): void;
  clear(): void;
  close(): Promise<void>;
}

/** A fault in place; `clear` takes it away (idempotent, bounded). */
export interface ActiveFault {
  clear(): Promise<void>;
  /** What the injection did, for the report (for example "SIGSTOP pid 4242", "latency 300ms downstream on replication"). */
  readonly detail: string;
}

export interface FaultInjector<K extends FaultKind = FaultKind> {
  readonly kind: K;
  /** Causes the fault; throws InputError when the environment lacks its target. Bounded. */
  inject(
    fault: Extract<RehearsalFault, { kind: K }>,
    env: FaultEnvironment,
    signal?: AbortSignal,
  ): Promise<ActiveFault>;
}

/** What handoff did about a fault, read from the run's trail in the fault's window. */
export type FaultReaction = 'none' | 'retry' | 'throttle' | 'hold' | 'rollback' | 'failback' | 'resume';

/** One entry of `faults` in `handoff rehearse -o json` (issue 13). */
export interface FaultRecord {
  name: string;
  kind: FaultKind;
  /** The stage running when the fault was injected. */
  stage: string;
  /** null: the fault was not injected (its moment never came, or its injection failed: `detail` says why). */
  injectedAt: string | null;
  clearedAt: string | null;
  reaction: FaultReaction;
  /** From injection until the service and the run were healthy again (no failed request, the run going on); null if never. */
  recoveryMs: number | null;
  /** Requests the clients saw fail between injection and recovery. */
  failedRequests: number;
  detail: string;
}

/** `handoff rehearse -o json` and `handoff demo --rehearse -o json` (issue 13). */
export interface RehearsalResult {
  ok: boolean;
  /** The rehearsed run (the run report shows this result only for its run; absent: any run of the state directory). */
  runId?: string;
  faults: FaultRecord[];
  invariants: Invariants;
  /** Names of the violated invariants (empty when ok). */
  violated?: string[];
  /** Where the operation history (JSON lines) and the rehearsal report were written. */
  historyFile?: string;
  reportFiles?: string[];
}
