/**
 * The throttle controller: a pure function from live measurements to a pace decision for
 * background data work (initial copy, verification passes, re-checks, repair). No I/O, no clock:
 * the pacer (pacer.ts) measures, calls `decideThrottle`, and acts.
 *
 * Like gh-ost and pt-table-checksum it pauses while replication lags or the source is loaded, and
 * aborts on a critical load; unlike them it also watches what the service's clients feel: the
 * router's p99 during the work against the p99 measured just before the work started. Chunk sizes
 * adapt to a target time per chunk (pt-table-checksum's `--chunk-time`, 0.5 s) through an
 * exponentially weighted average of the rows per millisecond the last chunks achieved.
 *
 * A latency pause also backs the work off once it resumes, as TCP backs off on congestion
 * (additive increase, multiplicative decrease): each latency breach halves the share of the time
 * the work may take (`workShare`, down to `MIN_WORK_SHARE`), as a rest after each chunk and a
 * shorter chunk; every later decision with the latency inside its limit gives back
 * `WORK_SHARE_STEP`, up to what `niceRatio` allows. Without it the work resumed flat out and, the
 * p99 signal being the median of several seconds, harmed the service for seconds before each
 * pause: on two busy cores the verify stage was a saw of pause, resume and breach.
 *
 * The share a breach happened at is remembered (`breachShare`), as TCP remembers its slow-start
 * threshold: the share comes back a full step at a time only up to `PROBE_FRACTION` of it, and
 * above that a fifth of a step at a time, so the work nears the pace that hurt the service
 * slowly instead of reaching it again seconds after each pause. Reaching it without a breach
 * forgets it. With the full step alone the 1 M-row demo's verify resumed at 0.23-0.28 and
 * breached again 3-9 s later, back at shares of up to about 0.5; its worst breaches were two or
 * three seconds of p99 240-385 ms before the (median) signal paused the work.
 */

export interface ThrottleLimits {
  /** Pause while router p99 > baseline p99 × this (and above `latencyFloorMs`). */
  maxLatencyRatio: number;
  /** p99 at or below this never pauses (a 2 ms baseline would otherwise pause at 3 ms of noise). */
  latencyFloorMs: number;
  /** Pause while the target lags the source by more than this (heartbeat marker). */
  maxReplicationLagMs: number;
  /** Pause while the source load (active backends, or the user's query) is above this; null: not watched. */
  maxSourceLoad: number | null;
  /** Abort at or above this source load; null: never. */
  criticalSourceLoad: number | null;
  /** Target time of one chunk. */
  chunkTargetMs: number;
  /** Chunk size bounds; the size starts at `maxChunkRows` and shrinks when chunks run long. */
  minChunkRows: number;
  maxChunkRows: number;
  /**
   * Rest after each chunk for this multiple of its time before the next (gh-ost's `--nice-ratio`):
   * 0 runs chunk after chunk, 1 gives the servers back as much time as the work took. Optional: 0.
   */
  niceRatio?: number;
  /**
   * A latency pause that has not brought the p99 under the limit for this long re-takes the
   * baseline from the p99s measured during the pause (see `rebaselineFrom`); 0 never does. Optional: 0.
   */
  rebaselineAfterMs?: number;
}

/** One set of measurements; null where a signal is not measured or has no data yet. */
export interface ThrottleMeasurements {
  /** Router p99 over the last window, all sites and classes. */
  routerP99Ms: number | null;
  /** Router p99 measured just before the work started. */
  baselineP99Ms: number | null;
  replicationLagMs: number | null;
  sourceLoad: number | null;
  /** The chunk finished since the last decision, if any. */
  lastChunk?: { durationMs: number; rows: number } | undefined;
}

/** What the controller carries from one decision to the next. */
export interface ThrottleState {
  chunkRows: number;
  /** EWMA of rows per millisecond; null before the first chunk. */
  rowsPerMs: number | null;
  /**
   * The share of the time the work may take, in (0, 1]: after a chunk of time t it rests
   * t × (1 / workShare − 1), and chunks aim at `chunkTargetMs × workShare`. Starts at
   * 1 / (1 + niceRatio); halved by each latency breach, given back step by step while the latency
   * is inside its limit.
   */
  workShare: number;
  /** The last decision was a latency pause (one breach, however many seconds it lasts, halves the share once). */
  latencyBreached: boolean;
  /** The share at the last latency breach, until the share is back at it; null: none. */
  breachShare: number | null;
}

export type ThrottleReason = 'latency' | 'replication-lag' | 'source-load';

export type ThrottleDecision =
  | { kind: 'go'; chunkRows: number }
  | { kind: 'pause'; reason: ThrottleReason; value: number; limit: number; message: string }
  | { kind: 'abort'; reason: ThrottleReason; value: number; limit: number; message: string };

/** Weight of the newest chunk in the rows-per-ms average (pt-table-checksum uses 0.75 of the old). */
export const EWMA_WEIGHT = 0.25;

/** The least share of the time latency backoffs leave the work (a rest of 4 × each chunk). */
export const MIN_WORK_SHARE = 0.2;

/** The share of the time given back per decision (about one a second) with the latency inside its limit. */
export const WORK_SHARE_STEP = 0.025;

/** Above this fraction of the share at the last breach the share is given back at `PROBE_STEP`. */
export const PROBE_FRACTION = 0.75;

/** The step near the share of the last breach: a fifth of `WORK_SHARE_STEP`. */
export const PROBE_STEP = WORK_SHARE_STEP / 5;

export function initialThrottleState(limits: ThrottleLimits): ThrottleState {
  return {
    chunkRows: limits.maxChunkRows,
    rowsPerMs: null,
    workShare: fullShare(limits),
    latencyBreached: false,
    breachShare: null,
  };
}

/** The share of the time the work takes with no backoff: 1 / (1 + niceRatio). */
function fullShare(limits: ThrottleLimits): number {
  const ratio = limits.niceRatio ?? 0;
  return ratio > 0 ? 1 / (1 + ratio) : 1;
}

export function decideThrottle(
  limits: ThrottleLimits,
  state: ThrottleState,
  measured: ThrottleMeasurements,
): { decision: ThrottleDecision; state: ThrottleState } {
  const adapted = adaptChunk(limits, state, measured.lastChunk);
  const load = measured.sourceLoad;
  const latencyLimit = round(latencyLimitMs(limits, measured.baselineP99Ms));
  const breached = measured.routerP99Ms !== null && latencyLimit !== null && measured.routerP99Ms > latencyLimit;
  const inside = measured.routerP99Ms !== null && latencyLimit !== null && !breached;
  const next = backOff(limits, adapted, breached, inside);
  if (load !== null && limits.criticalSourceLoad !== null && load >= limits.criticalSourceLoad) {
    const message = `source load ${fmt(load)} is at or above the critical limit ${fmt(limits.criticalSourceLoad)}`;
    return {
      decision: { kind: 'abort', reason: 'source-load', value: load, limit: limits.criticalSourceLoad, message },
      state: next,
    };
  }
  if (breached && measured.routerP99Ms !== null && latencyLimit !== null) {
    const value = round(measured.routerP99Ms) as number;
    const message = `router p99 ${fmt(value)} ms is above ${fmt(latencyLimit)} ms (baseline p99 ${fmt(measured.baselineP99Ms ?? 0)} ms × ${limits.maxLatencyRatio})`;
    return { decision: { kind: 'pause', reason: 'latency', value, limit: latencyLimit, message }, state: next };
  }
  if (measured.replicationLagMs !== null && measured.replicationLagMs > limits.maxReplicationLagMs) {
    const message = `replication lag ${fmt(measured.replicationLagMs)} ms is above ${fmt(limits.maxReplicationLagMs)} ms`;
    return {
      decision: {
        kind: 'pause',
        reason: 'replication-lag',
        value: measured.replicationLagMs,
        limit: limits.maxReplicationLagMs,
        message,
      },
      state: next,
    };
  }
  if (load !== null && limits.maxSourceLoad !== null && load > limits.maxSourceLoad) {
    const message = `source load ${fmt(load)} is above ${fmt(limits.maxSourceLoad)}`;
    return {
      decision: { kind: 'pause', reason: 'source-load', value: load, limit: limits.maxSourceLoad, message },
      state: next,
    };
  }
  return { decision: { kind: 'go', chunkRows: next.chunkRows }, state: next };
}

/**
 * How long a worker rests after a chunk that took `durationMs`: (1 / workShare − 1) × its time
 * (`niceRatio` × its time before any backoff; 0 at a share of 1).
 */
export function restAfterChunkMs(state: Pick<ThrottleState, 'workShare'>, durationMs: number): number {
  const share = state.workShare;
  if (!(share > 0) || share >= 1 || !(durationMs > 0)) return 0;
  return Math.round(durationMs * (1 / share - 1));
}

/**
 * The part of a latency pause's start that `rebaselineFrom` leaves out: the queue the work built
 * up is still draining then, and the p99 signal (a median of recent seconds) still holds the seconds
 * before the pause.
 */
export const REBASELINE_SETTLE_MS = 5000;

/**
 * A new baseline when pausing did not help: the work has been paused for latency for at least
 * `rebaselineAfterMs`, and the router's p99 stayed above the limit all along. Then the latency is
 * the service's own (more traffic, a slower dependency, a busier machine), not the work's, and
 * waiting for the old baseline would starve the work until `maxPause` holds the run. The new
 * baseline is the lowest p99 measured in the pause once it settled (`REBASELINE_SETTLE_MS`): the
 * best the service did with the work stopped. Null while the rule does not apply (no rule, too
 * early, no measurement yet, or none above the current baseline).
 *
 * `measured` are the pause's p99s with their time since the pause began, oldest first.
 */
export function rebaselineFrom(
  limits: ThrottleLimits,
  baselineP99Ms: number | null,
  pausedMs: number,
  measured: ReadonlyArray<{ atMs: number; p99Ms: number }>,
): number | null {
  const after = limits.rebaselineAfterMs ?? 0;
  if (!(after > 0) || pausedMs < after) return null;
  const settled = measured.filter((m) => m.atMs >= Math.min(REBASELINE_SETTLE_MS, after / 2)).map((m) => m.p99Ms);
  if (settled.length === 0) return null;
  const lowest = Math.min(...settled);
  if (baselineP99Ms !== null && lowest <= baselineP99Ms) return null;
  return round(lowest);
}

/** The p99 above which the work pauses, or null without a baseline. */
export function latencyLimitMs(limits: ThrottleLimits, baselineP99Ms: number | null): number | null {
  if (baselineP99Ms === null) return null;
  return Math.max(baselineP99Ms * limits.maxLatencyRatio, limits.latencyFloorMs);
}

/** To a tenth, for events and messages (a bucket bound times 1.5 has many digits). */
function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}

/** The average rate with the last chunk in it. */
function adaptChunk(
  limits: ThrottleLimits,
  state: ThrottleState,
  chunk: ThrottleMeasurements['lastChunk'],
): ThrottleState {
  if (!chunk || chunk.rows <= 0 || !(chunk.durationMs >= 0)) return state;
  const rate = chunk.rows / Math.max(1, chunk.durationMs);
  const rowsPerMs = state.rowsPerMs === null ? rate : (1 - EWMA_WEIGHT) * state.rowsPerMs + EWMA_WEIGHT * rate;
  return sized(limits, { ...state, rowsPerMs });
}

/**
 * The share after this decision: halved by a breach (the first decision of a latency pause),
 * given back by a step when the latency was measured inside its limit (a `PROBE_STEP` near the
 * share of the last breach), kept otherwise.
 */
function backOff(limits: ThrottleLimits, state: ThrottleState, breached: boolean, inside: boolean): ThrottleState {
  const full = fullShare(limits);
  let share = Math.min(state.workShare, full);
  let breachShare = state.breachShare;
  if (breached && !state.latencyBreached) {
    breachShare = share;
    share = Math.max(MIN_WORK_SHARE, share / 2);
  } else if (inside) {
    const near = breachShare !== null && share >= breachShare * PROBE_FRACTION;
    share = Math.min(full, share + (near ? PROBE_STEP : WORK_SHARE_STEP));
    if (breachShare !== null && share >= breachShare) breachShare = null;
  }
  share = Math.round(share * 1000) / 1000;
  if (share === state.workShare && breached === state.latencyBreached && breachShare === state.breachShare)
    return state;
  return sized(limits, { ...state, workShare: share, latencyBreached: breached, breachShare });
}

/** Chunk size: rows the average rate does in the target time at the current share, within the bounds. */
function sized(limits: ThrottleLimits, state: ThrottleState): ThrottleState {
  if (state.rowsPerMs === null) return state;
  const wanted = Math.round(state.rowsPerMs * limits.chunkTargetMs * Math.min(1, state.workShare));
  return { ...state, chunkRows: Math.min(limits.maxChunkRows, Math.max(limits.minChunkRows, wanted)) };
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
