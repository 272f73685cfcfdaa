/**
 * A latency histogram in fixed memory, in the manner of HdrHistogram: values (microseconds) below 64
 * are counted exactly; above, each power of two is split into 32 buckets, so any reported value is
 * within 1/32 (about 3 %) of the true one. 864 counters cover 0 µs to about 35 minutes; larger
 * values land in the last bucket. No sample is ever stored.
 */

const EXACT = 64;
const SUB = 32;
const MAX_MAGNITUDE = 30;
const BUCKETS = EXACT + (MAX_MAGNITUDE - 5) * SUB;
const MAX_VALUE = 2 ** (MAX_MAGNITUDE + 1) - 1;

export interface Histogram {
  /** Records one value in microseconds (negative values count as 0). */
  record(micros: number): void;
  count(): number;
  /** The value at quantile q (0..1) in microseconds, or null when empty. */
  quantile(q: number): number | null;
  min(): number | null;
  max(): number | null;
  mean(): number | null;
  /**
   * The non-empty buckets, lowest first, as `[bucketUpper(i), count]` (microseconds): the whole
   * distribution in at most 864 pairs, for readers that need more than a few quantiles.
   */
  buckets(): Array<[number, number]>;
  /** Adds another histogram's counts to this one. */
  merge(other: Histogram): void;
  reset(): void;
  /** The raw counters (for merging and tests). */
  readonly counts: Float64Array;
}

export function bucketIndex(value: number): number {
  const v = Math.min(MAX_VALUE, Math.max(0, Math.floor(value)));
  if (v < EXACT) return v;
  const magnitude = 31 - Math.clz32(v);
  const shift = magnitude - 5;
  return EXACT + (magnitude - 6) * SUB + ((v >>> shift) - SUB);
}

/** The highest value that falls into bucket `index`. */
export function bucketUpper(index: number): number {
  if (index < EXACT) return index;
  const octave = Math.floor((index - EXACT) / SUB);
  const sub = ((index - EXACT) % SUB) + SUB;
  const shift = octave + 1;
  return (sub + 1) * 2 ** shift - 1;
}

export function createHistogram(): Histogram {
  const counts = new Float64Array(BUCKETS);
  let total = 0;
  let sum = 0;
  let lowest = Infinity;
  let highest = -Infinity;
  const histogram: Histogram = {
    counts,
    record(micros) {
      const v = micros > 0 ? micros : 0;
      counts[bucketIndex(v)]! += 1;
      total += 1;
      sum += v;
      if (v < lowest) lowest = v;
      if (v > highest) highest = v;
    },
    count: () => total,
    quantile(q) {
      if (total === 0) return null;
      const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * total));
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += counts[i]!;
        if (seen >= rank) return Math.min(highest, Math.max(lowest, bucketUpper(i)));
      }
      return highest;
    },
    buckets() {
      const out: Array<[number, number]> = [];
      if (total === 0) return out;
      for (let i = 0; i < BUCKETS; i++) {
        const n = counts[i]!;
        if (n > 0) out.push([bucketUpper(i), n]);
      }
      return out;
    },
    min: () => (total === 0 ? null : lowest),
    max: () => (total === 0 ? null : highest),
    mean: () => (total === 0 ? null : sum / total),
    merge(other) {
      if (other.count() === 0) return;
      for (let i = 0; i < BUCKETS; i++) counts[i]! += other.counts[i]!;
      total += other.count();
      sum += (other.mean() ?? 0) * other.count();
      lowest = Math.min(lowest, other.min() ?? Infinity);
      highest = Math.max(highest, other.max() ?? -Infinity);
    },
    reset() {
      counts.fill(0);
      total = 0;
      sum = 0;
      lowest = Infinity;
      highest = -Infinity;
    },
  };
  return histogram;
}
