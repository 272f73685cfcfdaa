/**
 * The traffic adapter the engine drives: it decides which site serves each request class. The
 * built-in proxy implements it in-process (`builtin/`) and over its admin API (`client/`); an
 * in-memory fake (`fake/`) serves engine tests. `test/contracts/traffic-router.shared.ts` holds
 * every implementation to the same behaviour.
 *
 * Every method may be called again after a crash with the same arguments and reaches the same
 * state (idempotent): setting the routes that are already set changes nothing, holding while held
 * keeps the queue and only renews the bound, releasing while not held releases nothing.
 *
 * Not every router can do everything: `capabilities` says what this one can (the weights-only
 * drivers for Gateway API and DNS cannot hold, split classes or see requests). A method the router
 * lacks the capability for refuses with an AdapterError saying so (`hold`), or is accepted and has
 * no effect the caller could rely on (`reportLag` without `lagBound`).
 */
import type { ShadowControl } from '../shadow/control.js';
import type { RouterCapabilities } from './capabilities.js';
import type { RequestClass, Routes, RoutesUpdate, Weights } from './routes.js';

export type { RouterCapabilities } from './capabilities.js';

export interface TrafficRouter {
  /** What this router can do; constant for its life, and equal to `capabilitiesOf(spec)` for the plan it was built from. */
  readonly capabilities: Readonly<RouterCapabilities>;
  /**
   * Sets the weights of the given classes (either may be left out). Invalid weights (not summing
   * to 1, negative, unknown site) throw InputError and change nothing. With `drainMs`, waits up to
   * that long for in-flight requests of the changed classes on sites that lost weight to finish;
   * the result says whether they did.
   */
  setRoutes(routes: RoutesUpdate, options?: { drainMs?: number }): Promise<SetRoutesResult>;
  /**
   * Queues new requests of the given classes (bodies unread) until `release`, for at most
   * `maxHoldMs` (then the router releases by itself and says so in an event) and at most
   * `maxQueued` requests (beyond that: 503 with Retry-After). With `drainMs`, also waits up to
   * that long for requests of those classes already in flight to finish.
   */
  hold(options: HoldOptions): Promise<HoldResult>;
  /** Lets every held request go, in arrival order, to the routes current now. */
  release(): Promise<ReleaseResult>;
  /**
   * Reports replication lag per site in milliseconds (null: unknown). Reads go to a site that takes
   * no writes only while its lag is known and under the router's bound.
   */
  reportLag(lag: Record<string, number | null>): Promise<void>;
  /** Routes, hold, lag, statistics and the shares observed since the routes last changed. */
  snapshot(): Promise<RouterSnapshot>;
  /** Shadow reads (src/shadow/control.ts); present exactly when `capabilities.mirroring` is true. */
  readonly shadow?: ShadowControl;
}

export interface HoldOptions {
  classes: RequestClass[];
  maxHoldMs: number;
  /** Bound on queued requests; the router's default (1000) when left out. */
  maxQueued?: number;
  drainMs?: number;
}

export interface DrainResult {
  /** True when nothing of the classes concerned was in flight any more at the end of the wait. */
  drained: boolean;
  /** Requests still in flight when the wait ended. */
  inFlight: number;
  waitedMs: number;
}

export interface SetRoutesResult {
  routes: Routes;
  changed: RequestClass[];
  drain: DrainResult;
}

export interface HoldResult {
  classes: RequestClass[];
  /** ISO time at which the hold releases by itself. */
  deadline: string;
  drain: DrainResult;
}

export interface ReleaseRecord {
  /** ISO time of the release. */
  at: string;
  /** `request`: asked through release(); `timeout`: maxHoldMs reached. */
  reason: 'request' | 'timeout';
  released: number;
  /** From the first held request's arrival to the release (the pause clients saw); null if none. */
  pauseMs: number | null;
  /** How long the hold was in force. */
  heldMs: number;
}

export interface ReleaseResult {
  /** False when no hold was active (already released, or timed out earlier: see `last`). */
  wasActive: boolean;
  released: number;
  pauseMs: number | null;
  /** The most recent release, whichever way it happened. */
  last: ReleaseRecord | null;
  /**
   * The released requests being answered: `release` resolves once they all are (`drained`, and
   * `waitedMs` after the release), or at its bound with `inFlight` still unanswered. Absent where
   * the router cannot hold.
   */
  drain?: DrainResult;
}

export interface HoldState {
  active: boolean;
  classes: RequestClass[];
  queued: number;
  since: string | null;
  deadline: string | null;
  lastRelease: ReleaseRecord | null;
}

export interface ClassStats {
  requests: number;
  /** 5xx answers, connect failures and time-outs. */
  errors: number;
  inFlight: number;
  /**
   * Of `requests`, those sent to the site their client's read-after-write cookie named rather than
   * by weight (reads only; 0 for writes). `requests - stickyRequests` were free to go either way,
   * which is what an observed share is judged on.
   */
  stickyRequests?: number;
  /** Since the router started, over every finished request; null before the first one. */
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * The latency distribution since the router started: for each non-empty bucket of the router's
   * one fixed scheme (`builtin/histogram.ts`), `[bucketUpperMs, count]`, lowest first. Counts only
   * grow while the router runs, so two snapshots give any window (`latencyWindow`). They count
   * finished requests (failed ones too), so their sum is `requests - inFlight`.
   */
  latencyBuckets: LatencyBuckets;
}

/** `[bucketUpperMs, count]` pairs, ascending by bucket, counts above zero. */
export type LatencyBuckets = Array<[number, number]>;

export interface RouterStats {
  sites: Record<string, Record<RequestClass, ClassStats>>;
  /** Requests ever held. */
  held: number;
  /** Requests answered 503 because the hold queue was full. */
  rejected: number;
  /** Requests retried on another site after a connect failure. */
  retries: number;
}

export interface ClassShares {
  /** ISO time this class's routes last changed; the counts start there. */
  since: string;
  requests: number;
  shares: Weights;
  /** Requests free to go either way (not sent by a read-after-write cookie), and their shares. */
  freeRequests?: number;
  freeShares?: Weights;
}

export interface ObservedShares {
  reads: ClassShares;
  writes: ClassShares;
}

export interface RouterSnapshot {
  sites: string[];
  routes: Routes;
  hold: HoldState;
  lag: Record<string, number | null>;
  stats: RouterStats;
  observed: ObservedShares;
}
