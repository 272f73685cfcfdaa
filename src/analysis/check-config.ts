/**
 * A check as the state machine uses it: the plan's `analysis.checks[i]` with every default filled
 * in and every duration in milliseconds. Defaults (DESIGN.md, "Gates", and the research notes):
 * relative ratios error rate warn 1.1 / fail 2.0, p99 latency warn 1.2 / fail 1.5, latency
 * distribution (Mann-Whitney) warn 1.1 / fail 1.2; failureLimit 1 (the second Fail in a step rolls
 * back; a critical check fails at the first); window twice the interval; escalate after 10 minutes
 * of not being able to tell.
 */
import { parseDuration } from '../common/duration.js';
import { InputError } from '../common/errors.js';
import type { AnalysisSpec, CheckSpec } from '../plan/schema.js';
import { DISTRIBUTION_METRICS, isKnownMetric, splitMetric, type MetricName } from './metrics.js';

export interface RelativeCondition {
  /** target / source at or above this holds the step (Inconclusive). */
  warn?: number;
  /** target / source at or above this fails the check. */
  fail?: number;
  /**
   * The source value is taken as at least this, so a source at 0 does not make every ratio
   * infinite: 0.001 for error rates (a source without errors counts as 0.1 %), 1 ms for latencies.
   * With a floor of 0, a source at 0 gives ratio 1 when the target is 0 too, else Inconclusive.
   */
  floor: number;
}

export interface CheckConfig {
  name: string;
  metric: MetricName;
  /** Provider kind (`router`) and the value field it returns (`error_rate`). */
  provider: string;
  field: string;
  /** `mann-whitney` for latency distributions, `threshold` for one number per site. */
  judge: 'threshold' | 'mann-whitney';
  max?: number;
  min?: number;
  relative?: RelativeCondition;
  class: 'reads' | 'writes' | 'all';
  intervalMs: number;
  windowMs: number;
  initialDelayMs: number;
  /** Target observations needed before the check can pass or fail. */
  minSamples: number;
  consecutiveSuccesses: number;
  /** The check fails when its Fail count in the step exceeds this (Argo Rollouts semantics). */
  failureLimit: number;
  critical: boolean;
  dryRun: boolean;
  onNoData: 'hold' | 'fail' | 'pass';
  onError: 'hold' | 'fail';
  escalateAfterMs: number;
}

export const DEFAULT_RATIOS: Partial<Record<MetricName, { warn: number; fail: number }>> = {
  'router.error_rate': { warn: 1.1, fail: 2.0 },
  'http.error_rate': { warn: 1.1, fail: 2.0 },
  'router.latency_p99_ms': { warn: 1.2, fail: 1.5 },
  'router.latency_p50_ms': { warn: 1.2, fail: 1.5 },
  'http.latency_p99_ms': { warn: 1.2, fail: 1.5 },
  'router.latency_ms': { warn: 1.1, fail: 1.2 },
  'http.latency_ms': { warn: 1.1, fail: 1.2 },
};

export const CHECK_DEFAULTS = {
  failureLimit: 1,
  escalateAfterMs: 10 * 60_000,
  distributionMinSamples: 20,
  /** An error-rate breach must be this unlikely by chance (one-sided exact binomial test) to Fail. */
  significance: 0.01,
} as const;

function defaultFloor(field: string): number {
  if (field.endsWith('error_rate')) return 0.001;
  if (field.includes('latency')) return 1;
  return 0;
}

/** Fills in defaults. `where` names the check in messages (for example `spec.analysis.checks[0]`). */
export function resolveCheck(
  spec: CheckSpec,
  analysis: Partial<AnalysisSpec> = {},
  where = `check ${spec.name}`,
): CheckConfig {
  if (!isKnownMetric(spec.metric)) {
    throw new InputError(`${where}.metric: "${spec.metric}" is not a known metric`);
  }
  const { provider, field } = splitMetric(spec.metric);
  const judge = DISTRIBUTION_METRICS.has(spec.metric) ? 'mann-whitney' : 'threshold';
  const intervalMs = ms(spec.interval ?? analysis.interval ?? '5s', `${where}.interval`);
  const defaults = DEFAULT_RATIOS[spec.metric];
  let relative: RelativeCondition | undefined;
  if (spec.relativeToSource) {
    relative = { ...defaults, ...spec.relativeToSource, floor: defaultFloor(field) };
  } else if (defaults && spec.max === undefined && spec.min === undefined) {
    relative = { ...defaults, floor: defaultFloor(field) };
  }
  let min = spec.min;
  if (spec.metric === 'webhook.decision' && min === undefined && spec.max === undefined) min = 1;
  if (judge === 'mann-whitney' && !relative) {
    throw new InputError(
      `${where}: ${spec.metric} is judged against the source; give relativeToSource (warn/fail ratios)`,
    );
  }
  if (judge === 'threshold' && !relative && spec.max === undefined && min === undefined) {
    throw new InputError(`${where}: the check has no condition; give max, min or relativeToSource`);
  }
  if (relative?.warn !== undefined && relative.fail !== undefined && relative.warn > relative.fail) {
    throw new InputError(`${where}.relativeToSource: warn (${relative.warn}) is above fail (${relative.fail})`);
  }
  // analysis.minSamples counts requests or probes; providers without observation counts
  // (prometheus, sql, webhook: one number per site) take a minSamples only from the check itself.
  const counted = provider === 'router' || provider === 'http';
  const minSamples = spec.minSamples ?? (counted ? analysis.minSamples : undefined) ?? 0;
  return {
    name: spec.name,
    metric: spec.metric,
    provider,
    field,
    judge,
    ...(spec.max !== undefined ? { max: spec.max } : {}),
    ...(min !== undefined ? { min } : {}),
    ...(relative ? { relative } : {}),
    class: spec.class ?? 'all',
    intervalMs,
    windowMs: spec.window ? ms(spec.window, `${where}.window`) : 2 * intervalMs,
    initialDelayMs: spec.initialDelay ? ms(spec.initialDelay, `${where}.initialDelay`) : 0,
    minSamples: judge === 'mann-whitney' ? Math.max(minSamples, CHECK_DEFAULTS.distributionMinSamples) : minSamples,
    consecutiveSuccesses: spec.consecutiveSuccesses ?? analysis.consecutiveSuccesses ?? 1,
    failureLimit: spec.critical ? 0 : (spec.failureLimit ?? CHECK_DEFAULTS.failureLimit),
    critical: spec.critical,
    dryRun: spec.dryRun,
    onNoData: spec.onNoData,
    onError: spec.onError,
    escalateAfterMs: spec.escalateAfter
      ? ms(spec.escalateAfter, `${where}.escalateAfter`)
      : CHECK_DEFAULTS.escalateAfterMs,
  };
}

function ms(text: string, where: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new InputError(`${where}: ${(error as Error).message}`);
  }
}
