/**
 * The run's latency baseline: the router's p99 measured in preflight for `baselineWindow` while
 * handoff does nothing else, before any copy or verification. Every pacer of the run judges
 * `maxLatencyRatio` against it (pacer.ts), not against the p99 just before its own work: that one
 * holds the aftermath of the work before it (the copy's catch-up before verification, measured at
 * 16 times the quiet p99 at 1,000,000 rows), and a budget relative to an inflated baseline lets
 * the work do that much more harm.
 *
 * The measurement is the median of the whole-run `traffic-sample` events (one a second,
 * traffic-telemetry.ts) that fall wholly inside the window; per sample, the highest p99 of the site
 * classes that had requests.
 */
import { parseDuration } from '../../common/duration.js';
import type { EventBus } from '../../common/events.js';
import { sleep } from '../../common/net.js';
import type { Migration } from '../../plan/schema.js';
import { capabilitiesOf } from '../../traffic/capabilities.js';
import { samplePeakP99 } from './signals.js';
import './events.js';

/** Where the baseline is kept in the run's state. */
export const TRAFFIC_BASELINE_KEY = 'traffic.baseline';

export interface TrafficBaseline {
  /** Median p99 of the window's samples; null when none had requests. */
  p99Ms: number | null;
  /** Samples the median is of. */
  samples: number;
  windowMs: number;
}

/**
 * How long the baseline is measured: the longest `throttle.baselineWindow` of the data entries
 * whose throttle is on, 0 when none is or the router cannot report statistics.
 */
export function baselineWindowMs(plan: Migration): number {
  if (capabilitiesOf(plan.spec)?.statistics !== true) return 0;
  const windows = plan.spec.data
    .filter((entry) => entry.throttle.enabled)
    .map((entry) => parseDuration(entry.throttle.baselineWindow));
  return Math.max(0, ...windows);
}

/**
 * Listens to the run's samples (subject `subject`) for `windowMs`; the first sample is left out
 * (its window began before this one). Rejects with the signal's reason when it aborts.
 */
export async function measureTrafficBaseline(
  events: EventBus,
  windowMs: number,
  subject: string,
  signal?: AbortSignal,
): Promise<TrafficBaseline> {
  const p99s: number[] = [];
  let seen = 0;
  const off = events.on((event) => {
    if (event.type !== 'traffic-sample' || event.subject !== subject) return;
    if (seen++ === 0) return;
    const p99 = samplePeakP99(event.data);
    if (p99 !== null) p99s.push(p99);
  });
  try {
    await sleep(windowMs, signal);
  } finally {
    off();
  }
  return { p99Ms: median(p99s), samples: p99s.length, windowMs };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}
