/**
 * The observed-share check: the share of requests the target really receives must be within
 * tolerance of the weight asked for, before a step counts as done (only Argo's ALB weight
 * verification does anything like it). Tolerance: within max(2 percentage points, 20 % of the
 * weight) by default. Outside it the step holds (the weights are not in effect, or something in
 * front of the router splits traffic differently); it never rolls back by itself.
 *
 * Reads that follow their client's own write to the writer (read-after-write stickiness) were not
 * free to go by weight; with many writing clients they pull the target's share well below the
 * weight (7.9 % for 10 % at 1,000 requests/s). When the router counts them (`free_requests`), the
 * share is judged among the requests that were free to go either way.
 */
import type { CheckConfig } from './check-config.js';
import type { Evaluation } from './check-evaluate.js';
import { fmt } from './check-evaluate.js';
import type { Measurement } from './measurement.js';

export interface ShareTolerance {
  /** Absolute tolerance as a fraction (0.02 = 2 percentage points). */
  absolute: number;
  /** Relative tolerance as a fraction of the expected share (0.2 = 20 %). */
  relative: number;
}

export const DEFAULT_SHARE_TOLERANCE: ShareTolerance = { absolute: 0.02, relative: 0.2 };

export interface ShareCheckOptions {
  /** The share asked for, 0..1 (a weight of 25 % is 0.25). */
  expected: number;
  tolerance?: Partial<ShareTolerance>;
  intervalMs: number;
  windowMs?: number;
  /** Requests (both sites together) needed before the share means anything. */
  minSamples?: number;
  escalateAfterMs?: number;
  class?: 'reads' | 'writes' | 'all';
}

export const SHARE_CHECK_NAME = 'observed-share';

export function shareCheckConfig(options: ShareCheckOptions): CheckConfig {
  return {
    name: SHARE_CHECK_NAME,
    metric: 'router.share',
    provider: 'router',
    field: 'share',
    judge: 'threshold',
    class: options.class ?? 'reads',
    intervalMs: options.intervalMs,
    windowMs: options.windowMs ?? 2 * options.intervalMs,
    initialDelayMs: 0,
    minSamples: options.minSamples ?? 100,
    consecutiveSuccesses: 1,
    failureLimit: Number.MAX_SAFE_INTEGER,
    critical: false,
    dryRun: false,
    onNoData: 'hold',
    onError: 'hold',
    escalateAfterMs: options.escalateAfterMs ?? 10 * 60_000,
  };
}

export function shareBounds(expected: number, tolerance: Partial<ShareTolerance> = {}): { min: number; max: number } {
  const t = { ...DEFAULT_SHARE_TOLERANCE, ...tolerance };
  const width = Math.max(t.absolute, t.relative * expected);
  return { min: Math.max(0, expected - width), max: Math.min(1, expected + width) };
}

/** Judges the target's observed share: Pass within bounds, Inconclusive outside (hold), NoData/Error as measured. */
export function evaluateShare(options: ShareCheckOptions, measurement: Measurement): Evaluation {
  const { min, max } = shareBounds(options.expected, options.tolerance);
  const minSamples = options.minSamples ?? 100;
  const threshold = { min, max, minSamples };
  const base = { value: null, sourceValue: null, ratio: null, samples: 0, sourceSamples: null, threshold };
  const t = measurement.sites.target;
  const s = measurement.sites.source;
  for (const [site, reading] of [
    ['target', t],
    ['source', s],
  ] as const) {
    if (!reading) return { ...base, outcome: 'NoData', reason: `no reading for the ${site}` };
    if (reading.status === 'error')
      return { ...base, outcome: 'Error', reason: `measuring the ${site} failed: ${reading.reason}` };
  }
  // A site without requests is a share of 0 (at 100 % the source gets none); both without is NoData.
  const count = (r: typeof t): number => (r?.status === 'ok' ? r.samples : 0);
  if (t?.status !== 'ok' && s?.status !== 'ok') {
    return { ...base, outcome: 'NoData', reason: `no requests reached either site in the window` };
  }
  // Reads that followed their client's own write (read-after-write stickiness) were not free to go
  // by weight: the share is judged among the requests that were, when the router counts them.
  const freeOf = (r: typeof t): number | undefined => (r?.status === 'ok' ? r.values.free_requests : 0);
  const freeT = freeOf(t);
  const freeS = freeOf(s);
  const sticky = freeT !== undefined && freeS !== undefined;
  const all = count(t) + count(s);
  const targetCount = sticky ? freeT : count(t);
  const total = sticky ? freeT + freeS : all;
  const share = total === 0 ? null : targetCount / total;
  const measured = { ...base, value: share, samples: total, sourceSamples: total - targetCount };
  const followed =
    sticky && all > total
      ? ` (${all - total} more followed their client's writes by read-after-write stickiness and are not counted)`
      : '';
  // Too few free requests, but plenty of all: when the share of all of them (the sticky ones
  // included) is within the bounds, the weights are in effect as far as this check can tell (at
  // 100 % after cutover every sticky read goes to the target anyway; the bake at a low rate would
  // otherwise hold for want of free reads).
  const allShare = all === 0 ? null : count(t) / all;
  if (sticky && total < minSamples && all >= minSamples && allShare !== null && allShare >= min && allShare <= max) {
    return {
      ...base,
      value: allShare,
      samples: all,
      sourceSamples: all - count(t),
      outcome: 'Pass',
      reason: `target received ${fmt(allShare * 100)} % of all ${all} requests (too few free to go either way, ${total} < ${minSamples}, so the ones that followed their client's writes count too), ${fmt(options.expected * 100)} % asked for: within ${fmt(min * 100)}-${fmt(max * 100)} %`,
    };
  }
  if (share === null) {
    const reason =
      all > 0
        ? `all ${all} requests in the window followed read-after-write stickiness; none was free to go by weight`
        : 'no requests reached either site in the window';
    return { ...measured, outcome: 'NoData', reason };
  }
  const asked = `${fmt(options.expected * 100)} % asked for`;
  const among = sticky ? 'requests free to go either way' : 'requests';
  if (total < minSamples) {
    return {
      ...measured,
      outcome: 'Inconclusive',
      reason: `too few ${among} to measure the share (${total} < ${minSamples})${followed}; ${asked}`,
    };
  }
  const observed = `target received ${fmt(share * 100)} % of ${total} ${among}${followed}, ${asked}`;
  if (share < min || share > max) {
    // Plenty of data and still outside: say why the step holds, for `explain`.
    const why = sticky
      ? 'the weights are not in effect for these requests (reads kept off a lagging target, or something in front of the router splits traffic)'
      : 'the weights are not in effect (read-after-write stickiness is not counted by this router, or something in front of it splits traffic)';
    return {
      ...measured,
      outcome: 'Inconclusive',
      reason: `${observed}: outside ${fmt(min * 100)}-${fmt(max * 100)} %, so the step holds; ${why}`,
    };
  }
  return { ...measured, outcome: 'Pass', reason: `${observed}: within ${fmt(min * 100)}-${fmt(max * 100)} %` };
}
