/**
 * The gate `shadow.diff_rate`, judged from the router's final shadow status: counted differences
 * (noise already left out) over compared reads, against the plan's budget. Fewer compared reads
 * than `minSamples` is NoData (the run holds); above the budget is Fail, with the endpoints and
 * fields that differed named in the reason. Pure.
 */
import type { ShadowStatus } from './control.js';
import type { ShadowEndpointView, ShadowVerdict } from './events.js';

export interface VerdictOptions {
  threshold: number;
  minSamples: number;
  share: number;
  durationMs: number;
  evidenceFile: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 3 : 2)} %`;

export function shadowVerdict(status: ShadowStatus, options: VerdictOptions): ShadowVerdict {
  const { counters } = status;
  const endpoints: ShadowEndpointView[] = status.endpoints.slice(0, 10).map((e) => ({
    endpoint: e.endpoint,
    compared: e.compared,
    differences: e.differences,
    noise: e.noise,
    stale: e.stale,
    paths: Object.entries(e.paths)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 5),
  }));
  const value = counters.compared === 0 ? null : counters.differences / counters.compared;
  const where = endpoints
    .filter((e) => e.differences > 0)
    .slice(0, 3)
    .map((e) => `${e.endpoint} at ${e.paths.map(([p, n]) => `${p} (${n})`).join(', ')}`)
    .join('; ');
  const counts = `${counters.differences} differences in ${counters.compared} compared reads (${counters.noise} noise, ${counters.stale} stale, ${counters.dropped.concurrency + counters.dropped.bytes + counters.dropped.body + counters.dropped.error} copies dropped)`;
  let outcome: ShadowVerdict['outcome'];
  let reason: string;
  if (counters.compared < options.minSamples || value === null) {
    outcome = 'NoData';
    const unanswered =
      counters.dropped.error > 0
        ? `; ${counters.dropped.error} copies dropped because a site did not answer or the source failed: look at the target's health first`
        : '';
    reason = `shadow.diff_rate cannot judge: ${counters.compared} reads compared, ${options.minSamples} needed (spec.traffic.shadow.budget.minSamples)${unanswered}; raise the share or the duration, then resume`;
  } else if (value > options.threshold) {
    outcome = 'Fail';
    reason = `shadow.diff_rate ${pct(value)} is above the budget of ${pct(options.threshold)}: ${counts}; ${where}; evidence in ${options.evidenceFile}`;
  } else {
    outcome = 'Pass';
    reason = `shadow.diff_rate ${pct(value)} is within the budget of ${pct(options.threshold)}: ${counts}`;
  }
  return {
    outcome,
    metric: 'shadow.diff_rate',
    value,
    threshold: options.threshold,
    samples: counters.compared,
    minSamples: options.minSamples,
    share: options.share,
    durationMs: options.durationMs,
    counters,
    endpoints,
    evidenceFile: options.evidenceFile,
    reason,
  };
}
