/**
 * The pacer: the I/O around the throttle controller. Before each chunk of background work it makes
 * sure the measurements are at most `checkIntervalMs` old (one measurement at a time, shared by
 * every worker), asks the controller, and either lets the chunk go with the size to use or holds
 * every worker until the budget clears. A pause is a `throttle-paused` event with its reason, value
 * and limit, and a `throttle-resumed` event with its length. A pause longer than `maxPauseMs`, or a
 * critical source load, stops the work with a HoldRunError: the run holds (nothing is undone) and
 * `handoff resume` continues once the service is healthy again.
 */
import { HoldRunError, messageOf } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import { sleep } from '../../common/net.js';
import {
  decideThrottle,
  initialThrottleState,
  latencyLimitMs,
  rebaselineFrom,
  restAfterChunkMs,
  type ThrottleDecision,
  type ThrottleLimits,
  type ThrottleMeasurements,
  type ThrottleState,
} from './controller.js';
import './events.js';

/** Where the measurements come from; a signal left out is not watched. Each returns null when it has no data. */
export interface ThrottleSignals {
  /** The router's p99 over the latest window (all sites and classes). */
  routerP99Ms?: () => Promise<number | null>;
  replicationLagMs?: () => Promise<number | null>;
  sourceLoad?: () => Promise<number | null>;
}

export interface PacerOptions {
  limits: ThrottleLimits;
  maxPauseMs: number;
  checkIntervalMs: number;
  /** What is paced, named in events: `verify`, `recheck`, `repair`, `copy`. */
  work: string;
  /** The event's subject (a database). */
  subject?: string;
  /**
   * The baseline p99 measured for the run before any work (the preflight's `traffic-baseline`);
   * without it, the p99 when the work starts is the baseline.
   */
  baselineP99Ms?: number | null;
}

export interface PacerDeps {
  signals: ThrottleSignals;
  events?: EventBus;
  /** Warnings about a signal that failed (the check goes on without it). */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

export interface PacerStats {
  pauses: number;
  pausedMs: number;
  /** The current chunk size. */
  chunkRows: number;
  baselineP99Ms: number | null;
  /** Times a pause that did not help re-took the baseline. */
  rebaselines: number;
  /** The share of the time the work may take now (1: chunk after chunk; see the controller's backoff). */
  workShare: number;
}

export interface Pacer {
  /** Measures the baseline p99 (call once, just before the work starts). Idempotent. */
  start(): Promise<void>;
  /**
   * Resolves with the rows the next chunk should have, once the budget allows it. `hooks` run when
   * this call starts a pause and when it ends it (work that cannot simply stop asking, such as the
   * initial copy, stops and restarts itself there); `resumed` also runs when the pause ends in an error.
   */
  ready(signal?: AbortSignal, hooks?: PauseHooks): Promise<number>;
  /** Reports a finished chunk (for the chunk size). */
  chunkDone(rows: number, durationMs: number): void;
  /**
   * The worker's rest after a chunk that took `durationMs`: (1 / workShare − 1) × its time, which is
   * the limits' `niceRatio` × its time until a latency breach backs the work off; none at a share of 1.
   */
  rest(durationMs: number, signal?: AbortSignal): Promise<void>;
  /** The same pacer for another kind of work (events name it); shares budget, baseline and state. */
  as(work: string): Pacer;
  stats(): PacerStats;
}

export interface PauseHooks {
  paused(): Promise<void>;
  resumed(): Promise<void>;
}

interface Shared {
  state: ThrottleState;
  baselineP99Ms: number | null;
  /** The baseline before any re-take (the run's, or the first measured); null until there is one. */
  firstBaselineP99Ms: number | null;
  started: boolean;
  lastChunk: { rows: number; durationMs: number } | undefined;
  checkedAt: number;
  gate: Promise<number> | null;
  pauses: number;
  pausedMs: number;
  rebaselines: number;
}

export function createPacer(options: PacerOptions, deps: PacerDeps): Pacer {
  const shared: Shared = {
    state: initialThrottleState(options.limits),
    baselineP99Ms: null,
    firstBaselineP99Ms: null,
    started: false,
    lastChunk: undefined,
    checkedAt: Number.NEGATIVE_INFINITY,
    gate: null,
    pauses: 0,
    pausedMs: 0,
    rebaselines: 0,
  };
  return pacerFor(options.work, options, deps, shared);
}

function pacerFor(work: string, options: PacerOptions, deps: PacerDeps, shared: Shared): Pacer {
  const read = async (name: keyof ThrottleSignals): Promise<number | null> => {
    const signal = deps.signals[name];
    if (!signal) return null;
    try {
      return await signal();
    } catch (error) {
      deps.warn?.('a throttle measurement failed; the check goes on without it', {
        signal: name,
        error: messageOf(error),
      });
      return null;
    }
  };
  const measure = async (): Promise<ThrottleMeasurements> => {
    // The latency last: the lag by heartbeat waits for its marker (seconds behind a catch-up), and a
    // p99 read beside it would be that old when the work goes on it: after a long copy, an index
    // build began into the catch-up's burst on a p99 read 3 s before (clients' p99 114-573 ms).
    const [replicationLagMs, sourceLoad] = await Promise.all([read('replicationLagMs'), read('sourceLoad')]);
    const routerP99Ms = await read('routerP99Ms');
    // No baseline before the work (no traffic yet): the first window with traffic becomes it.
    if (shared.baselineP99Ms === null && routerP99Ms !== null) shared.baselineP99Ms = routerP99Ms;
    shared.firstBaselineP99Ms ??= shared.baselineP99Ms;
    // A re-taken baseline lasts while the service is slow: once the p99 is back under the first
    // baseline's limit, that baseline holds again (a burst that outlasted a pause, such as a long
    // catch-up, must not loosen the budget for the rest of the work).
    const first = shared.firstBaselineP99Ms;
    const firstLimit = latencyLimitMs(options.limits, first);
    if (
      first !== null &&
      shared.baselineP99Ms !== first &&
      routerP99Ms !== null &&
      firstLimit !== null &&
      routerP99Ms <= firstLimit
    ) {
      const from = shared.baselineP99Ms;
      shared.baselineP99Ms = first;
      emit('throttle-rebaselined', {
        work,
        from,
        to: first,
        pausedMs: 0,
        message: `router p99 ${routerP99Ms} ms is back under ${firstLimit} ms: the baseline is ${first} ms again`,
      });
    }
    const lastChunk = shared.lastChunk;
    shared.lastChunk = undefined;
    return { routerP99Ms, baselineP99Ms: shared.baselineP99Ms, replicationLagMs, sourceLoad, lastChunk };
  };
  const decide = async (): Promise<{ decision: ThrottleDecision; routerP99Ms: number | null }> => {
    const measured = await measure();
    const result = decideThrottle(options.limits, shared.state, measured);
    shared.state = result.state;
    shared.checkedAt = Date.now();
    return { decision: result.decision, routerP99Ms: measured.routerP99Ms };
  };
  const emit = <T extends 'throttle-paused' | 'throttle-resumed' | 'throttle-rebaselined'>(
    type: T,
    data: import('../../common/events.js').EventPayloads[T],
  ): void => {
    deps.events?.emit(type, data, { actor: 'throttle', subject: options.subject ?? work });
  };
  const hold = (decision: Extract<ThrottleDecision, { kind: 'abort' | 'pause' }>, extra: string): HoldRunError =>
    new HoldRunError(
      `${work} stopped by the throttle: ${decision.message}${extra}; handoff resume continues once it clears`,
      {
        details: { reason: decision.reason, value: decision.value, limit: decision.limit },
      },
    );
  const check = async (signal?: AbortSignal, hooks?: PauseHooks): Promise<number> => {
    let { decision } = await decide();
    if (decision.kind === 'abort') throw hold(decision, '');
    if (decision.kind === 'go') return decision.chunkRows;
    const first = decision;
    const pausedAt = Date.now();
    shared.pauses++;
    emit('throttle-paused', {
      work,
      reason: first.reason,
      value: first.value,
      limit: first.limit,
      message: first.message,
    });
    // The p99s measured while paused for latency: a pause that does not bring it down re-takes the baseline.
    let during: Array<{ atMs: number; p99Ms: number }> = [];
    let latencySince = pausedAt;
    let resumed = false;
    try {
      await hooks?.paused();
      for (;;) {
        await sleep(options.checkIntervalMs, signal);
        const next = await decide();
        decision = next.decision;
        if (decision.kind === 'pause' && decision.reason === 'latency' && next.routerP99Ms !== null) {
          during.push({ atMs: Date.now() - latencySince, p99Ms: next.routerP99Ms });
          const baseline = rebaselineFrom(options.limits, shared.baselineP99Ms, Date.now() - latencySince, during);
          if (baseline !== null) {
            const from = shared.baselineP99Ms;
            shared.baselineP99Ms = baseline;
            shared.rebaselines++;
            emit('throttle-rebaselined', {
              work,
              from,
              to: baseline,
              pausedMs: Date.now() - pausedAt,
              message: `router p99 stayed above ${decision.limit} ms for ${Math.round((Date.now() - latencySince) / 1000)} s with the ${work} paused: the service's latency moved, not the work's; the baseline is now ${baseline} ms (the lowest p99 while paused)`,
            });
            during = [];
            latencySince = Date.now();
            decision = (await decide()).decision;
          }
        } else {
          during = [];
          latencySince = Date.now();
        }
        if (decision.kind === 'go') {
          resumed = true;
          await hooks?.resumed();
          const pausedMs = Date.now() - pausedAt;
          emit('throttle-resumed', { work, reason: first.reason, pausedMs, workShare: shared.state.workShare });
          return decision.chunkRows;
        }
        if (decision.kind === 'abort') throw hold(decision, '');
        if (Date.now() - pausedAt > options.maxPauseMs)
          throw hold(decision, ` for longer than the longest pause (${options.maxPauseMs} ms)`);
      }
    } finally {
      shared.pausedMs += Date.now() - pausedAt;
      if (!resumed)
        await hooks
          ?.resumed()
          .catch((error: unknown) => deps.warn?.('resuming paused work failed', { work, error: messageOf(error) }));
    }
  };
  return {
    async start() {
      if (shared.started) return;
      shared.started = true;
      if (typeof options.baselineP99Ms === 'number') {
        shared.baselineP99Ms = options.baselineP99Ms;
        return;
      }
      const p99 = await read('routerP99Ms');
      if (p99 !== null) shared.baselineP99Ms = p99;
    },
    async ready(signal, hooks) {
      signal?.throwIfAborted();
      if (shared.gate) return await shared.gate;
      if (Date.now() - shared.checkedAt < options.checkIntervalMs) return shared.state.chunkRows;
      const gate = check(signal, hooks);
      shared.gate = gate;
      try {
        return await gate;
      } finally {
        if (shared.gate === gate) shared.gate = null;
      }
    },
    chunkDone(rows, durationMs) {
      const last = shared.lastChunk;
      // Chunks finished between two checks are summed: the rate over all of them.
      shared.lastChunk = last
        ? { rows: last.rows + rows, durationMs: last.durationMs + durationMs }
        : { rows, durationMs };
    },
    async rest(durationMs, signal) {
      const ms = restAfterChunkMs(shared.state, durationMs);
      if (ms > 0) await sleep(ms, signal);
    },
    as(other) {
      return pacerFor(other, options, deps, shared);
    },
    stats() {
      return {
        pauses: shared.pauses,
        pausedMs: shared.pausedMs,
        chunkRows: shared.state.chunkRows,
        baselineP99Ms: shared.baselineP99Ms,
        rebaselines: shared.rebaselines,
        workShare: shared.state.workShare,
      };
    },
  };
}
