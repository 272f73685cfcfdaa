/**
 * The latency of one window, from two snapshots of the router's cumulative buckets
 * (`ClassStats.latencyBuckets`, taken at the window's start and end): the requests that finished
 * in between, per bucket, and their quantiles. Pure; the engine's `traffic-sample` events and the
 * report's per-window p99 use it, as the analysis provider does the same subtraction for its checks.
 *
 * A quantile is the upper bound of the bucket holding the request of that rank (rank
 * `ceil(q × count)`, at least 1): never below the true value and at most 1/32 above it (exact under
 * 64 µs). Counts that went backwards mean the router restarted between the snapshots: the window
 * is then what `after` counted since the restart, and says so (`reset`), as Prometheus treats a
 * counter reset. A restart that no bucket shows (the new counts already at or above the old ones)
 * cannot be seen here: a caller whose `requests` went backwards should pass no `before`.
 */
import { InternalError } from '../common/errors.js';
import type { LatencyBuckets } from './router.js';

export interface LatencyWindow {
  /** Requests that finished in the window, per bucket: `[bucketUpperMs, count]`, lowest first, non-empty only. */
  buckets: LatencyBuckets;
  /** How many requests finished in the window (the sum of `buckets`). */
  count: number;
  /** Null when nothing finished in the window. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** True when a count went backwards (the router restarted): the window is `after` alone. */
  reset: boolean;
}

function toMap(pairs: Readonly<LatencyBuckets>): Map<number, number> {
  const map = new Map<number, number>();
  for (const [upper, count] of pairs) map.set(upper, (map.get(upper) ?? 0) + count);
  return map;
}

/** The value at quantile `q` (clamped to 0..1) of a bucket list (any order), or null when it counts nothing. */
export function bucketQuantile(buckets: Readonly<LatencyBuckets>, q: number): number | null {
  const sorted = [...buckets].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return null;
  if (Number.isNaN(q)) throw new InternalError('bucketQuantile: the quantile is NaN');
  const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * total));
  let seen = 0;
  for (const [upper, n] of sorted) {
    seen += n;
    if (seen >= rank) return upper;
  }
  return sorted[sorted.length - 1]?.[0] ?? null;
}

/**
 * The window between two cumulative snapshots of one site and class. `before` null or undefined
 * (no earlier snapshot): the window is everything `after` counted.
 */
export function latencyWindow(
  before: Readonly<LatencyBuckets> | null | undefined,
  after: Readonly<LatencyBuckets>,
): LatencyWindow {
  const now = toMap(after);
  const then = toMap(before ?? []);
  let reset = false;
  for (const [upper, count] of then) {
    if ((now.get(upper) ?? 0) < count) {
      reset = true;
      break;
    }
  }
  const buckets: LatencyBuckets = [];
  for (const [upper, count] of now) {
    const delta = reset ? count : count - (then.get(upper) ?? 0);
    if (delta > 0) buckets.push([upper, delta]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((sum, [, n]) => sum + n, 0);
  return { buckets, count, p50Ms: bucketQuantile(buckets, 0.5), p99Ms: bucketQuantile(buckets, 0.99), reset };
}
