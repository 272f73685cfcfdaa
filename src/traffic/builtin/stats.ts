/**
 * Statistics per site and request class: requests, errors (5xx, connect failures, time-outs),
 * requests in flight, reads that followed a read-after-write cookie rather than the weights
 * (`stickyRequests`), and a fixed-memory latency histogram, reported as quantiles and as its
 * non-empty buckets in milliseconds (`ClassStats.latencyBuckets`). Also counts the requests each
 * site received since the routes last changed (the observed shares), and lets a caller wait,
 * bounded, until nothing of some classes is in flight any more (drain).
 */
import type { ClassShares, ClassStats, DrainResult, ObservedShares, RouterStats } from '../router.js';
import { REQUEST_CLASSES, type RequestClass, type Weights } from '../routes.js';
import { createHistogram, type Histogram } from './histogram.js';

export interface Counters {
  requests: number;
  errors: number;
  inFlight: number;
  sinceChange: number;
  /** Reads sent to the site their client's read-after-write cookie named (not by weight). */
  sticky: number;
  stickySinceChange: number;
  latency: Histogram;
}

export interface StatsStore {
  counters(site: string, cls: RequestClass): Counters;
  /** A request was sent to `site`. */
  started(site: string, cls: RequestClass): void;
  /** The read just started on `site` went there by the client's read-after-write cookie, not by weight. */
  countSticky(site: string): void;
  /** It ended after `micros`; `failed` for 5xx, connect failures and time-outs. */
  finished(site: string, cls: RequestClass, micros: number, failed: boolean): void;
  countHeld(): void;
  countRejected(): void;
  countRetry(): void;
  /** Restarts the observed-share counts of these classes (the routes changed). */
  resetObserved(classes: readonly RequestClass[], at: number): void;
  inFlight(classes: readonly RequestClass[], sites?: readonly string[]): number;
  /** Resolves once nothing of `classes` (on `sites`, all when left out) is in flight, or after `timeoutMs`. */
  waitForDrain(
    classes: readonly RequestClass[],
    sites: readonly string[] | undefined,
    timeoutMs: number,
  ): Promise<DrainResult>;
  snapshot(): RouterStats;
  observed(): ObservedShares;
  totals(): { held: number; rejected: number; retries: number };
}

interface Waiter {
  classes: readonly RequestClass[];
  sites: readonly string[] | undefined;
  started: number;
  timer: NodeJS.Timeout;
  resolve(result: DrainResult): void;
}

const toMs = (micros: number | null): number | null => (micros === null ? null : Math.round(micros) / 1000);

export function createStatsStore(sites: readonly string[], now: () => number = Date.now): StatsStore {
  const table = new Map<string, Record<RequestClass, Counters>>();
  for (const site of sites) {
    const make = (): Counters => ({
      requests: 0,
      errors: 0,
      inFlight: 0,
      sinceChange: 0,
      sticky: 0,
      stickySinceChange: 0,
      latency: createHistogram(),
    });
    table.set(site, { reads: make(), writes: make() });
  }
  const observedSince: Record<RequestClass, number> = { reads: now(), writes: now() };
  let held = 0;
  let rejected = 0;
  let retries = 0;
  const waiters = new Set<Waiter>();

  const counters = (site: string, cls: RequestClass): Counters => {
    const row = table.get(site);
    if (!row) throw new Error(`unknown site ${site}`);
    return row[cls];
  };
  const inFlight = (classes: readonly RequestClass[], only?: readonly string[]): number => {
    let total = 0;
    for (const site of only ?? sites) for (const cls of classes) total += counters(site, cls).inFlight;
    return total;
  };
  const settle = (waiter: Waiter, drained: boolean): void => {
    clearTimeout(waiter.timer);
    waiters.delete(waiter);
    waiter.resolve({ drained, inFlight: inFlight(waiter.classes, waiter.sites), waitedMs: now() - waiter.started });
  };

  return {
    counters,
    started(site, cls) {
      const c = counters(site, cls);
      c.requests += 1;
      c.inFlight += 1;
      c.sinceChange += 1;
    },
    countSticky(site) {
      const c = counters(site, 'reads');
      c.sticky += 1;
      c.stickySinceChange += 1;
    },
    finished(site, cls, micros, failed) {
      const c = counters(site, cls);
      c.inFlight -= 1;
      if (failed) c.errors += 1;
      c.latency.record(micros);
      if (waiters.size > 0) {
        for (const waiter of [...waiters]) if (inFlight(waiter.classes, waiter.sites) === 0) settle(waiter, true);
      }
    },
    countHeld: () => void (held += 1),
    countRejected: () => void (rejected += 1),
    countRetry: () => void (retries += 1),
    resetObserved(classes, at) {
      for (const cls of classes) {
        observedSince[cls] = at;
        for (const site of sites) {
          const c = counters(site, cls);
          c.sinceChange = 0;
          c.stickySinceChange = 0;
        }
      }
    },
    inFlight,
    waitForDrain(classes, only, timeoutMs) {
      const started = now();
      if (inFlight(classes, only) === 0 || timeoutMs <= 0) {
        const remaining = inFlight(classes, only);
        return Promise.resolve({ drained: remaining === 0, inFlight: remaining, waitedMs: 0 });
      }
      return new Promise((resolve) => {
        const waiter: Waiter = {
          classes,
          sites: only,
          started,
          resolve,
          timer: setTimeout(() => settle(waiter, inFlight(classes, only) === 0), timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    snapshot() {
      const out: RouterStats['sites'] = {};
      for (const site of sites) {
        const row = {} as Record<RequestClass, ClassStats>;
        for (const cls of REQUEST_CLASSES) {
          const c = counters(site, cls);
          row[cls] = {
            requests: c.requests,
            errors: c.errors,
            inFlight: c.inFlight,
            stickyRequests: c.sticky,
            p50Ms: toMs(c.latency.quantile(0.5)),
            p99Ms: toMs(c.latency.quantile(0.99)),
            latencyBuckets: c.latency.buckets().map(([upper, n]): [number, number] => [upper / 1000, n]),
          };
        }
        out[site] = row;
      }
      return { sites: out, held, rejected, retries };
    },
    observed() {
      const shares = (cls: RequestClass): ClassShares => {
        let requests = 0;
        let free = 0;
        for (const site of sites) {
          const c = counters(site, cls);
          requests += c.sinceChange;
          free += c.sinceChange - c.stickySinceChange;
        }
        const result: Weights = {};
        const freeShares: Weights = {};
        for (const site of sites) {
          const c = counters(site, cls);
          result[site] = requests === 0 ? 0 : c.sinceChange / requests;
          freeShares[site] = free === 0 ? 0 : (c.sinceChange - c.stickySinceChange) / free;
        }
        return {
          since: new Date(observedSince[cls]).toISOString(),
          requests,
          shares: result,
          freeRequests: free,
          freeShares,
        };
      };
      return { reads: shares('reads'), writes: shares('writes') };
    },
    totals: () => ({ held, rejected, retries }),
  };
}
