/**
 * The throttle's measurements (ThrottleSignals) from real sources: the router's latency (from a
 * TrafficRouter's snapshots, or from the `traffic-sample` events the run already emits), the
 * source's load (active sessions, or the user's own query), and replication lag by heartbeat.
 */
import type pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import { latencyWindow } from '../../traffic/latency-window.js';
import type { LatencyBuckets, RouterStats, TrafficRouter } from '../../traffic/router.js';

/** Every site's and class's latency buckets added together. */
export function mergedBuckets(stats: RouterStats): LatencyBuckets {
  const sum = new Map<number, number>();
  for (const site of Object.values(stats.sites)) {
    for (const cls of Object.values(site)) {
      for (const [upper, count] of cls.latencyBuckets) sum.set(upper, (sum.get(upper) ?? 0) + count);
    }
  }
  return [...sum].sort((a, b) => a[0] - b[0]);
}

/** p99 of the requests that finished since the previous call (null when none did), from router snapshots. */
export function routerLatencySignal(router: Pick<TrafficRouter, 'snapshot'>): () => Promise<number | null> {
  let previous: LatencyBuckets | null = null;
  return async () => {
    const now = mergedBuckets((await router.snapshot()).stats);
    const window = latencyWindow(previous, now);
    previous = now;
    return window.p99Ms;
  };
}

export interface EventLatencySignal {
  read: () => Promise<number | null>;
  /** Stops listening. */
  close(): void;
}

/** How many of the latest samples the event signal takes the median of. */
export const LATENCY_SAMPLES = 5;

/**
 * p99 from the run's `traffic-sample` events: per sample, the highest p99 of the site classes that
 * had requests; the signal is the median of the latest `LATENCY_SAMPLES` samples younger than
 * `maxAgeMs` (a one-second window's p99 is its tenth-worst request at 1,000 requests/s: one slow
 * second must not pause the work, a slow trend must), or null when there is none.
 */
export function eventLatencySignal(events: EventBus, maxAgeMs = 30_000): EventLatencySignal {
  const recent: Array<{ at: number; p99: number }> = [];
  const off = events.on((event) => {
    if (event.type !== 'traffic-sample') return;
    const p99 = samplePeakP99(event.data);
    if (p99 === null) return;
    recent.push({ at: Date.now(), p99 });
    if (recent.length > LATENCY_SAMPLES) recent.shift();
  });
  return {
    read: async () => {
      const fresh = recent.filter((sample) => Date.now() - sample.at <= maxAgeMs).map((sample) => sample.p99);
      if (fresh.length === 0) return null;
      const sorted = fresh.sort((a, b) => a - b);
      return sorted[Math.floor((sorted.length - 1) / 2)] as number;
    },
    close: off,
  };
}

/** A `traffic-sample`'s highest p99 among the site classes that had requests; null when none had. */
export function samplePeakP99(data: unknown): number | null {
  const sites = (data as { sites?: Record<string, Record<string, { requests?: number; p99Ms?: number | null }>> })
    .sites;
  let p99: number | null = null;
  for (const site of Object.values(sites ?? {})) {
    for (const cls of Object.values(site)) {
      if ((cls.requests ?? 0) > 0 && typeof cls.p99Ms === 'number') p99 = Math.max(p99 ?? 0, cls.p99Ms);
    }
  }
  return p99;
}

/** Active client sessions on the source, handoff's own and this one left out (gh-ost's Threads_running). */
export function activeBackendsSignal(client: pg.ClientBase): () => Promise<number | null> {
  return async () => {
    const result = await client.query<{ n: string }>(
      `select count(*)::text as n from pg_stat_activity
        where state = 'active' and backend_type = 'client backend' and pid <> pg_backend_pid()
          and application_name not like 'handoff%'`,
    );
    return Number(result.rows[0]?.n ?? 0);
  };
}

/** The first column of the first row of the user's query, as a number (gh-ost's --max-load query). */
export function querySignal(client: pg.ClientBase, sql: string): () => Promise<number | null> {
  return async () => {
    const result = await client.query<Record<string, unknown>>(sql);
    const row = result.rows[0];
    if (!row) return null;
    const value = Number(Object.values(row)[0]);
    if (!Number.isFinite(value)) {
      throw new AdapterError(
        'spec.data[].throttle.maxSourceLoad.query: the query did not return a number in its first column',
      );
    }
    return value;
  };
}
