/**
 * Judges one measurement of one check: pure, no I/O, no state. The order matters and is part of
 * the contract: missing target data (NoData), a provider failure (Error), too few target samples
 * (Inconclusive), absolute limits (Fail), then the comparison with the source measured in the same
 * window (ratio or Mann-Whitney U).
 */
import { CHECK_DEFAULTS, type CheckConfig } from './check-config.js';
import { binomialUpperTail } from './judges/binomial.js';
import { judgeLatency } from './judges/latency-judge.js';
import type { Measurement, SiteReading, SiteValues } from './measurement.js';
import type { CheckOutcome } from './outcome.js';
import type { Thresholds } from './check-result.js';

export type { Thresholds };

export interface Evaluation {
  outcome: CheckOutcome;
  /** Why, in one sentence with the numbers. */
  reason: string;
  /** The target's value (null when there is none). */
  value: number | null;
  sourceValue: number | null;
  /** target / source (or the Mann-Whitney typical ratio); null when not compared. */
  ratio: number | null;
  /** Target observations in the window. */
  samples: number;
  sourceSamples: number | null;
  pValue?: number;
  threshold: Thresholds;
  /** The window the values cover (set by the gate from the measurement). */
  windowMs?: number;
}

export function evaluateCheck(config: CheckConfig, measurement: Measurement): Evaluation {
  const threshold: Thresholds = {
    ...(config.max !== undefined ? { max: config.max } : {}),
    ...(config.min !== undefined ? { min: config.min } : {}),
    ...(config.relative?.warn !== undefined ? { warn: config.relative.warn } : {}),
    ...(config.relative?.fail !== undefined ? { fail: config.relative.fail } : {}),
    minSamples: config.minSamples,
  };
  const base = { value: null, sourceValue: null, ratio: null, samples: 0, sourceSamples: null, threshold };
  const target = measurement.sites.target;
  const unusable = describeUnusable('target', target);
  if (unusable) return { ...base, ...unusable };
  const t = target as SiteValues;
  const value = config.judge === 'threshold' ? (t.values[config.field] ?? null) : null;
  if (config.judge === 'threshold' && (value === null || !Number.isFinite(value))) {
    return {
      ...base,
      samples: t.samples,
      outcome: 'Error',
      reason: `the provider returned no ${config.field} for the target`,
    };
  }
  const withTarget = { ...base, value, samples: t.samples };
  if (t.samples === 0) {
    return { ...withTarget, outcome: 'NoData', reason: 'the target had no observations in the window' };
  }
  if (t.samples < config.minSamples) {
    return {
      ...withTarget,
      outcome: 'Inconclusive',
      reason: `too few samples on the target (${t.samples} < minSamples ${config.minSamples})`,
    };
  }
  const note = t.note ? ` (${t.note})` : '';
  if (value !== null && config.max !== undefined && value > config.max) {
    const breach = `target ${config.field} ${fmt(value)} is above max ${fmt(config.max)}`;
    if (isRate(config.field)) {
      // Could this many errors happen by chance at a true rate of `max`? Then it is not yet a Fail.
      const errors = Math.round(value * t.samples);
      const pValue = binomialUpperTail(errors, t.samples, config.max);
      if (pValue >= CHECK_DEFAULTS.significance) {
        return {
          ...withTarget,
          pValue,
          outcome: 'Inconclusive',
          reason: `${breach}, but ${errors} errors in ${t.samples} requests are not significant (p=${fmtP(pValue)})${note}`,
        };
      }
      return {
        ...withTarget,
        pValue,
        outcome: 'Fail',
        reason: `${breach} (${errors} errors in ${t.samples} requests, p=${fmtP(pValue)})${note}`,
      };
    }
    return { ...withTarget, outcome: 'Fail', reason: `${breach}${note}` };
  }
  if (value !== null && config.min !== undefined && value < config.min) {
    return {
      ...withTarget,
      outcome: 'Fail',
      reason: `target ${config.field} ${fmt(value)} is below min ${fmt(config.min)}${note}`,
    };
  }
  if (!config.relative) {
    return {
      ...withTarget,
      outcome: 'Pass',
      reason: `target ${config.field} ${fmt(value ?? Number.NaN)} is within limits${note}`,
    };
  }

  const source = measurement.sites.source;
  const sourceUnusable = describeUnusable('source', source);
  const sourceIdle = source?.status === 'no-data' || (source?.status === 'ok' && source.samples === 0);
  if (sourceIdle && (config.max !== undefined || config.min !== undefined)) {
    // At 100 % of a class the source gets none of it: only the absolute limits can judge.
    return {
      ...withTarget,
      outcome: 'Pass',
      reason: `target ${config.field} ${fmt(value ?? Number.NaN)} is within its absolute limits; the source had no observations to compare with${note}`,
    };
  }
  if (sourceUnusable) {
    return {
      ...withTarget,
      outcome: sourceUnusable.outcome,
      reason: `cannot compare with the source: ${sourceUnusable.reason}`,
    };
  }
  const s = source as SiteValues;
  if (config.judge === 'mann-whitney') return judgeDistribution(config, t, s, withTarget);

  const sourceValue = s.values[config.field];
  if (sourceValue === undefined || !Number.isFinite(sourceValue)) {
    return { ...withTarget, outcome: 'Error', reason: `the provider returned no ${config.field} for the source` };
  }
  const compared = { ...withTarget, sourceValue, sourceSamples: s.samples };
  if (s.samples === 0) {
    return {
      ...compared,
      outcome: 'NoData',
      reason: 'cannot compare with the source: it had no observations in the window',
    };
  }
  const v = value as number;
  const { warn, fail, floor } = config.relative;
  const denominator = Math.max(sourceValue, floor);
  if (denominator <= 0) {
    if (v <= 0)
      return { ...compared, ratio: 1, outcome: 'Pass', reason: `target and source ${config.field} are both 0` };
    return {
      ...compared,
      outcome: 'Inconclusive',
      reason: `source ${config.field} is 0, so target ${fmt(v)} cannot be compared as a ratio; add a max`,
    };
  }
  const ratio = v / denominator;
  const facts = `target ${config.field} ${fmt(v)} is ${fmt(ratio)}× the source's ${fmt(sourceValue)}${sourceValue < floor ? ` (counted as ${fmt(floor)})` : ''}`;
  if (fail !== undefined && ratio >= fail) {
    if (isRate(config.field)) {
      // Same rate on both sides is the null hypothesis: given all the errors, how likely is it that
      // the target holds at least this many of them by chance?
      const targetErrors = Math.round(v * t.samples);
      const sourceErrors = Math.round(sourceValue * s.samples);
      const pValue = binomialUpperTail(targetErrors, targetErrors + sourceErrors, t.samples / (t.samples + s.samples));
      const counts = `${targetErrors} errors in ${t.samples} target requests, ${sourceErrors} in ${s.samples} source requests`;
      if (pValue >= CHECK_DEFAULTS.significance) {
        return {
          ...compared,
          ratio,
          pValue,
          outcome: 'Inconclusive',
          reason: `${facts}, at or above fail ${fail}, but not significant (${counts}, p=${fmtP(pValue)})`,
        };
      }
      return {
        ...compared,
        ratio,
        pValue,
        outcome: 'Fail',
        reason: `${facts}, at or above fail ${fail} (${counts}, p=${fmtP(pValue)})`,
      };
    }
    return { ...compared, ratio, outcome: 'Fail', reason: `${facts}, at or above fail ${fail}` };
  }
  if (warn !== undefined && ratio >= warn)
    return { ...compared, ratio, outcome: 'Inconclusive', reason: `${facts}, at or above warn ${warn}` };
  return {
    ...compared,
    ratio,
    outcome: 'Pass',
    reason: `${facts}, below ${warn !== undefined ? `warn ${warn}` : `fail ${fail}`}`,
  };
}

function judgeDistribution(
  config: CheckConfig,
  t: SiteValues,
  s: SiteValues,
  base: Omit<Evaluation, 'outcome' | 'reason'>,
): Evaluation {
  if (!t.latency || !s.latency) {
    return {
      ...base,
      outcome: 'Error',
      reason: `the provider returned no latency distribution for the ${t.latency ? 'source' : 'target'}`,
    };
  }
  try {
    const j = judgeLatency(s.latency, t.latency, {
      ...(config.relative?.warn !== undefined ? { warn: config.relative.warn } : {}),
      ...(config.relative?.fail !== undefined ? { fail: config.relative.fail } : {}),
      minSamples: config.minSamples,
    });
    return {
      ...base,
      value: j.test?.targetMedianMs ?? null,
      sourceValue: j.test?.sourceMedianMs ?? null,
      ratio: Number.isFinite(j.ratio) ? j.ratio : null,
      sourceSamples: s.samples,
      ...(j.test ? { pValue: j.test.pValue } : {}),
      outcome: j.outcome,
      reason: j.reason,
    };
  } catch (error) {
    return { ...base, outcome: 'Error', reason: `cannot judge latency: ${(error as Error).message}` };
  }
}

function describeUnusable(
  site: string,
  reading: SiteReading | undefined,
): { outcome: CheckOutcome; reason: string } | null {
  if (!reading) return { outcome: 'NoData', reason: `no reading for the ${site}` };
  if (reading.status === 'no-data') return { outcome: 'NoData', reason: `no data for the ${site}: ${reading.reason}` };
  if (reading.status === 'error')
    return { outcome: 'Error', reason: `measuring the ${site} failed: ${reading.reason}` };
  return null;
}

/** Error rates are proportions of counted requests: their breaches are tested for significance. */
function isRate(field: string): boolean {
  return field.endsWith('error_rate');
}

function fmtP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

/** Numbers in reasons: up to 4 significant digits, no exponent for ordinary values. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return String(Math.round(x));
  return String(Number(x.toPrecision(4)));
}
