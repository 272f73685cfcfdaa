/**
 * What a metric provider returns: one reading per site for a window ending at `at`. A reading is
 * either values (with the number of observations they rest on), NoData (nothing to measure, for
 * example no requests in the window), or Error (the provider could not measure). Providers never
 * throw for a failed measurement: "cannot tell" is a result, not an exception.
 */

export const SITE_NAMES = ['source', 'target'] as const;
export type SiteName = (typeof SITE_NAMES)[number];

/**
 * Latency observations for the statistical judge:
 * - `samples`: raw values in milliseconds;
 * - `weighted`: distinct values with how often each was seen (a sparse histogram whose buckets are
 *   named by a representative value, for example the router's bucket upper bounds; both sites
 *   must use the same bucket scheme);
 * - `histogram`: upper bucket bounds in milliseconds (ascending) and one count per bucket plus a
 *   last count for everything above the last bound (`counts.length === boundsMs.length + 1`).
 * Counts are per bucket, not cumulative.
 */
export type LatencyObservations =
  | { kind: 'samples'; valuesMs: number[] }
  | { kind: 'weighted'; valuesMs: number[]; counts: number[] }
  | { kind: 'histogram'; boundsMs: number[]; counts: number[] };

export interface SiteValues {
  status: 'ok';
  /** Metric field name (the part after the provider in `router.error_rate`) → value. */
  values: Record<string, number>;
  /** How many observations (requests, probes, series points) the values rest on. */
  samples: number;
  /** Present where a latency distribution was observed (router with histograms, http probes). */
  latency?: LatencyObservations;
  /** What the system measured said about it (a webhook's reason), for the decision record. */
  note?: string;
}

export interface SiteNoData {
  status: 'no-data';
  reason: string;
}

export interface SiteError {
  status: 'error';
  reason: string;
  /** Whether trying again later may succeed (network, timeout) or not (bad query). */
  retryable: boolean;
}

export type SiteReading = SiteValues | SiteNoData | SiteError;

export interface Measurement {
  /** Milliseconds since the epoch when the window ended. */
  at: number;
  /** The window the values cover, in milliseconds (may be shorter than asked at the start). */
  windowMs: number;
  sites: Partial<Record<SiteName, SiteReading>>;
}

export interface MeasureRequest {
  /** The sites to measure. */
  sites: readonly SiteName[];
  /** Length of the window ending now, in milliseconds. */
  windowMs: number;
  /** Request class for providers that separate them (router). */
  class?: 'reads' | 'writes' | 'all';
  signal?: AbortSignal;
}

export function noData(reason: string): SiteNoData {
  return { status: 'no-data', reason };
}

export function readingError(reason: string, retryable = true): SiteError {
  return { status: 'error', reason, retryable };
}

/** Number of latency observations in a reading's distribution. */
export function observationCount(latency: LatencyObservations): number {
  if (latency.kind === 'samples') return latency.valuesMs.length;
  return latency.counts.reduce((sum, n) => sum + n, 0);
}

/** Distinct values with counts, for samples and weighted observations. */
export function weightedPairs(
  latency: Extract<LatencyObservations, { kind: 'samples' | 'weighted' }>,
): Array<[number, number]> {
  if (latency.kind === 'samples') return latency.valuesMs.map((v) => [v, 1]);
  return latency.valuesMs.map((v, i) => [v, latency.counts[i] ?? 0]);
}

/** The q-quantile (0..1) of latency observations; histograms interpolate inside the bucket. */
export function latencyQuantile(latency: LatencyObservations, q: number): number | null {
  if (latency.kind !== 'histogram') {
    const sorted = weightedPairs(latency)
      .filter(([, n]) => n > 0)
      .sort((a, b) => a[0] - b[0]);
    const total = sorted.reduce((sum, [, n]) => sum + n, 0);
    if (total === 0) return null;
    const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
    let seen = 0;
    for (const [value, n] of sorted) {
      seen += n;
      if (seen >= rank) return value;
    }
    return sorted[sorted.length - 1]?.[0] ?? null;
  }
  const total = observationCount(latency);
  if (total === 0) return null;
  const wanted = q * total;
  let seen = 0;
  for (let i = 0; i < latency.counts.length; i++) {
    const count = latency.counts[i] ?? 0;
    if (count > 0 && seen + count >= wanted) {
      const lower = i === 0 ? 0 : (latency.boundsMs[i - 1] ?? 0);
      const upper = latency.boundsMs[i];
      if (upper === undefined) return lower; // overflow bucket: the last bound is all we know
      return lower + ((upper - lower) * (wanted - seen)) / count;
    }
    seen += count;
  }
  return latency.boundsMs[latency.boundsMs.length - 1] ?? null;
}
