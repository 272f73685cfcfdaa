/**
 * The Mann-Whitney U test (Wilcoxon rank-sum) between a source and a target latency distribution,
 * two-sided, with tie correction and the continuity-corrected normal approximation, plus two effect
 * sizes: the Hodges-Lehmann shift (median of target - source over all pairs) and the common-language
 * effect size (the probability a target observation exceeds a source one, ties counted half).
 *
 * Works from raw samples or histograms. Ranks are computed over distinct values with counts, so a
 * histogram bucket is one group of ties (the tie correction accounts for it) and the cost is
 * O(distinct values), not O(observations).
 */
import { InputError } from '../../common/errors.js';
import { weightedPairs, type LatencyObservations } from '../measurement.js';

export interface MannWhitneyResult {
  /** Observations in the source and target. */
  sourceCount: number;
  targetCount: number;
  /** U of the target: the number of (source, target) pairs where target > source, ties counted half. */
  u: number;
  /** Standardised U (continuity-corrected); positive when the target is slower. */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
  /** Common-language effect size: P(target > source) + P(tie) / 2; 0.5 means no difference. */
  cles: number;
  /** Hodges-Lehmann estimate of how much slower the target is, in milliseconds (negative: faster). */
  shiftMs: number;
  /**
   * Hodges-Lehmann estimate on the log scale: the median over all pairs of target / source (values
   * below `floorMs` count as `floorMs`). Latency shifts are mostly multiplicative, and this estimate
   * does not carry the noise of the source median. 1 means no shift.
   */
  ratio: number;
  sourceMedianMs: number;
  targetMedianMs: number;
}

/** A value with how many times it was observed in the source and in the target. */
interface Group {
  value: number;
  source: number;
  target: number;
}

/** Above this many distinct (source, target) value pairs the shift is estimated by the difference of medians. */
const MAX_PAIRS = 250_000;

export function mannWhitney(source: LatencyObservations, target: LatencyObservations, floorMs = 1): MannWhitneyResult {
  const [a, b] = alignObservations(source, target);
  const groups = mergeGroups(a, b);
  const n1 = groups.reduce((s, g) => s + g.source, 0);
  const n2 = groups.reduce((s, g) => s + g.target, 0);
  if (n1 === 0 || n2 === 0) throw new InputError('Mann-Whitney U needs observations on both sides');
  const n = n1 + n2;

  let rank = 0;
  let targetRankSum = 0;
  let tieTerm = 0;
  for (const g of groups) {
    const t = g.source + g.target;
    const averageRank = rank + (t + 1) / 2;
    targetRankSum += averageRank * g.target;
    tieTerm += t * t * t - t;
    rank += t;
  }
  const u = targetRankSum - (n2 * (n2 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  let z = 0;
  if (variance > 0) {
    const diff = u - mean;
    const corrected = Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5);
    z = corrected / Math.sqrt(variance);
  }
  const pValue = Math.min(1, 2 * normalUpperTail(Math.abs(z)));
  const sourceMedianMs = sortedMedian(groups, (g) => g.source, n1);
  const targetMedianMs = sortedMedian(groups, (g) => g.target, n2);
  return {
    sourceCount: n1,
    targetCount: n2,
    u,
    z,
    pValue,
    cles: u / (n1 * n2),
    shiftMs: hodgesLehmann(groups, (v) => v, targetMedianMs - sourceMedianMs),
    ratio: Math.exp(
      hodgesLehmann(
        groups,
        (v) => Math.log(Math.max(v, floorMs)),
        Math.log(Math.max(targetMedianMs, floorMs) / Math.max(sourceMedianMs, floorMs)),
      ),
    ),
    sourceMedianMs,
    targetMedianMs,
  };
}

/** Brings both sides to the same form: samples and weighted values stay values; a histogram needs the same buckets on both sides. */
function alignObservations(
  source: LatencyObservations,
  target: LatencyObservations,
): [Array<[number, number]>, Array<[number, number]>] {
  if (source.kind !== 'histogram' && target.kind !== 'histogram') return [weightedPairs(source), weightedPairs(target)];
  const bounds = source.kind === 'histogram' ? source.boundsMs : (target as { boundsMs: number[] }).boundsMs;
  return [toBuckets(source, bounds), toBuckets(target, bounds)];
}

/** Histogram buckets as (representative value, count); the value is the bucket's middle. */
function toBuckets(obs: LatencyObservations, bounds: number[]): Array<[number, number]> {
  const counts = obs.kind === 'histogram' ? obs.counts : bucketize(weightedPairs(obs), bounds);
  if (
    obs.kind === 'histogram' &&
    (obs.boundsMs.length !== bounds.length || obs.boundsMs.some((b, i) => b !== bounds[i]))
  ) {
    throw new InputError('Mann-Whitney U: the source and target histograms have different bucket bounds');
  }
  if (counts.length !== bounds.length + 1) {
    throw new InputError(
      `Mann-Whitney U: a histogram with ${bounds.length} bounds needs ${bounds.length + 1} counts, not ${counts.length}`,
    );
  }
  return counts.map((count, i) => [bucketMiddle(bounds, i), count]);
}

function bucketize(values: Array<[number, number]>, bounds: number[]): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const [v, n] of values) {
    let i = 0;
    while (i < bounds.length && v > (bounds[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + n;
  }
  return counts;
}

function bucketMiddle(bounds: number[], i: number): number {
  const lower = i === 0 ? 0 : (bounds[i - 1] as number);
  const upper = bounds[i];
  return upper === undefined ? lower * 1.5 || 1 : (lower + upper) / 2;
}

function mergeGroups(a: Array<[number, number]>, b: Array<[number, number]>): Group[] {
  const byValue = new Map<number, Group>();
  for (const [value, count] of a) {
    if (!Number.isFinite(value)) throw new InputError(`Mann-Whitney U: observation ${value} is not a number`);
    const g = byValue.get(value) ?? { value, source: 0, target: 0 };
    g.source += count;
    byValue.set(value, g);
  }
  for (const [value, count] of b) {
    if (!Number.isFinite(value)) throw new InputError(`Mann-Whitney U: observation ${value} is not a number`);
    const g = byValue.get(value) ?? { value, source: 0, target: 0 };
    g.target += count;
    byValue.set(value, g);
  }
  return [...byValue.values()].filter((g) => g.source + g.target > 0).sort((x, y) => x.value - y.value);
}

/** The weighted median of groups already sorted by value. */
function sortedMedian(groups: Group[], weight: (g: Group) => number, total: number): number {
  let seen = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as Group;
    const w = weight(g);
    if (w === 0) continue;
    seen += w;
    if (seen * 2 > total) return g.value;
    if (seen * 2 === total) {
      const next = groups.slice(i + 1).find((x) => weight(x) > 0);
      return (g.value + (next?.value ?? g.value)) / 2;
    }
  }
  return Number.NaN;
}

function weightedMedian(items: Array<[number, number]>): number {
  const sorted = [...items].sort((x, y) => x[0] - y[0]);
  const total = sorted.reduce((s, [, w]) => s + w, 0);
  let seen = 0;
  for (let i = 0; i < sorted.length; i++) {
    const [value, weight] = sorted[i] as [number, number];
    seen += weight;
    if (seen * 2 > total) return value;
    if (seen * 2 === total) return (value + (sorted[i + 1]?.[0] ?? value)) / 2;
  }
  return Number.NaN;
}

/**
 * Median of f(target) - f(source) over all pairs (weighted by counts); `fallback` (the difference of
 * the medians) when there are too many distinct pairs.
 */
function hodgesLehmann(groups: Group[], f: (value: number) => number, fallback: number): number {
  const src = groups.filter((g) => g.source > 0);
  const tgt = groups.filter((g) => g.target > 0);
  if (src.length * tgt.length > MAX_PAIRS) return fallback;
  const pairs: Array<[number, number]> = [];
  for (const t of tgt) for (const s of src) pairs.push([f(t.value) - f(s.value), t.target * s.source]);
  return weightedMedian(pairs);
}

/** P(Z > z) for a standard normal Z (erfc with relative error below 1.2e-7). */
export function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -x * x -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? erfc / 2 : 1 - erfc / 2;
}
