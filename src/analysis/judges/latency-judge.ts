/**
 * The statistical judge for latency: is the target slower than the source, measured over the same
 * window? It fails only when both hold: the difference is significant (two-sided Mann-Whitney U,
 * p below 1 - confidence) AND the effect is large (the Hodges-Lehmann estimate of the ratio
 * target / source, taken over all pairs, is at least `fail`). A significant but small
 * shift passes (below `warn`) or holds (between `warn` and `fail`); a large but insignificant one,
 * typical of few noisy samples, passes. A faster target always passes.
 */
import type { LatencyObservations } from '../measurement.js';
import { observationCount } from '../measurement.js';
import type { CheckOutcome } from '../outcome.js';
import { mannWhitney, type MannWhitneyResult } from './mann-whitney.js';

export interface LatencyJudgeOptions {
  /** Confidence of the test; 0.98 (Kayenta's default) unless given. */
  confidence?: number;
  /** Typical-latency ratio target/source that holds the step; 1.1 unless given. */
  warn?: number;
  /** Typical-latency ratio target/source that fails the check; 1.2 unless given. */
  fail?: number;
  /** Fewer observations than this on either side is Inconclusive; 20 unless given. */
  minSamples?: number;
  /** Source medians below this (ms) count as this, so a 0 ms source does not make every ratio infinite; 1 ms. */
  floorMs?: number;
}

export interface LatencyJudgement {
  outcome: Extract<CheckOutcome, 'Pass' | 'Fail' | 'Inconclusive'>;
  reason: string;
  /** Hodges-Lehmann estimate of target / source latency; 1 means no shift. */
  ratio: number;
  test: MannWhitneyResult | null;
  thresholds: { confidence: number; warn: number; fail: number; minSamples: number };
}

export const LATENCY_JUDGE_DEFAULTS = { confidence: 0.98, warn: 1.1, fail: 1.2, minSamples: 20, floorMs: 1 } as const;

export function judgeLatency(
  source: LatencyObservations,
  target: LatencyObservations,
  options: LatencyJudgeOptions = {},
): LatencyJudgement {
  const thresholds = {
    confidence: options.confidence ?? LATENCY_JUDGE_DEFAULTS.confidence,
    warn: options.warn ?? LATENCY_JUDGE_DEFAULTS.warn,
    fail: options.fail ?? LATENCY_JUDGE_DEFAULTS.fail,
    minSamples: options.minSamples ?? LATENCY_JUDGE_DEFAULTS.minSamples,
  };
  const floor = options.floorMs ?? LATENCY_JUDGE_DEFAULTS.floorMs;
  const n1 = observationCount(source);
  const n2 = observationCount(target);
  if (n1 < thresholds.minSamples || n2 < thresholds.minSamples) {
    return {
      outcome: 'Inconclusive',
      reason: `too few latency observations to compare (source ${n1}, target ${n2}; need ${thresholds.minSamples} each)`,
      ratio: Number.NaN,
      test: null,
      thresholds,
    };
  }
  const test = mannWhitney(source, target, floor);
  const ratio = test.ratio;
  const alpha = 1 - thresholds.confidence;
  const facts = `typical latency ratio ${fmt(ratio)} (medians ${fmt(test.sourceMedianMs)} ms → ${fmt(test.targetMedianMs)} ms), p=${fmtP(test.pValue)}, n=${n1}/${n2}`;
  if (test.pValue >= alpha) {
    return { outcome: 'Pass', reason: `no significant latency difference: ${facts}`, ratio, test, thresholds };
  }
  if (ratio < thresholds.warn) {
    const how = test.shiftMs <= 0 ? 'the target is faster' : `the shift is below the ${thresholds.warn} bound`;
    return { outcome: 'Pass', reason: `${how}: ${facts}`, ratio, test, thresholds };
  }
  if (ratio < thresholds.fail) {
    return {
      outcome: 'Inconclusive',
      reason: `target significantly slower, between warn ${thresholds.warn} and fail ${thresholds.fail}: ${facts}`,
      ratio,
      test,
      thresholds,
    };
  }
  return {
    outcome: 'Fail',
    reason: `target significantly slower, at or above fail ${thresholds.fail}: ${facts}`,
    ratio,
    test,
    thresholds,
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : String(x);
}

function fmtP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : String(Math.round(p * 10000) / 10000);
}
