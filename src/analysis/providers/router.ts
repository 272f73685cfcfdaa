/**
 * The router provider: per-site error rate, request rate, latency quantiles and distribution, and
 * the observed share, over a window, from the router's cumulative counters. It keeps a short
 * history of polls and subtracts the poll nearest to (at or before) the window's start from the
 * latest, so several checks asking in the same tick share one poll (polls younger than `reuseMs`
 * are reused) and each still gets its own window. `start` takes the baseline poll.
 *
 * Fields: error_rate, request_rate (per second), latency_p50_ms, latency_p99_ms, share (of the
 * requests in the window, both sites together), free_requests (requests that went by weight, not
 * by a read-after-write cookie; only from routers that count them), and the latency distribution
 * (`latency_ms`).
 * Windowed quantiles come from the latency buckets; a router without buckets gives its own
 * p50Ms/p99Ms, which are not windowed.
 */
import { InternalError, messageOf } from '../../common/errors.js';
import type { LatencyObservations, Measurement, MeasureRequest, SiteName, SiteReading } from '../measurement.js';
import { latencyQuantile, noData, readingError } from '../measurement.js';
import type { MetricProvider } from '../provider.js';
import type { RouterClassStats, RouterStatsInput, RouterStatsSource } from './router-stats.js';

export interface RouterProviderOptions {
  stats: RouterStatsSource;
  /** Site names in the router's stats, if they differ from `source` / `target`. */
  siteNames?: Partial<Record<SiteName, string>>;
  /** A poll younger than this is reused instead of polling again; 250 ms. */
  reuseMs?: number;
  /** How long polls are kept; 15 minutes (the longest window a check may ask for). */
  historyMs?: number;
}

interface Poll {
  at: number;
  stats: RouterStatsInput;
}

interface Totals {
  requests: number;
  /** Requests that went by weight; null when the router does not count sticky ones. */
  free: number | null;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  buckets: Map<number, number> | null;
}

const MAX_POLLS = 600;

export const ROUTER_FIELDS = [
  'error_rate',
  'request_rate',
  'latency_p50_ms',
  'latency_p99_ms',
  'share',
  'free_requests',
] as const;

export interface RouterProvider extends MetricProvider {
  /** How many polls are kept (bounded). */
  historySize(): number;
}

export function createRouterProvider(
  options: RouterProviderOptions,
  deps: { now?: () => number } = {},
): RouterProvider {
  const now = deps.now ?? Date.now;
  const reuseMs = options.reuseMs ?? 250;
  const historyMs = options.historyMs ?? 15 * 60_000;
  let polls: Poll[] = [];
  let state: 'new' | 'started' | 'stopped' = 'new';
  let inflight: Promise<Poll> | null = null;

  async function poll(signal?: AbortSignal): Promise<Poll> {
    const latest = polls[polls.length - 1];
    if (latest && now() - latest.at < reuseMs) return latest;
    inflight ??= (async () => {
      try {
        const stats = await options.stats(signal);
        const p = { at: now(), stats };
        const prev = polls[polls.length - 1];
        if (prev && wentBackwards(prev.stats, stats)) polls = []; // the router restarted: start over
        polls.push(p);
        polls = polls.filter((x) => p.at - x.at <= historyMs || x === p);
        if (polls.length > MAX_POLLS) polls = thin(polls);
        return p;
      } finally {
        inflight = null;
      }
    })();
    return inflight;
  }

  return {
    kind: 'router',
    fields: ROUTER_FIELDS,
    async start() {
      if (state === 'started') return;
      if (state === 'stopped') throw new InternalError('router provider: start after stop');
      state = 'started';
      await poll().catch(() => undefined); // a failed baseline shows up as Error in the first measure
    },
    async measure(request: MeasureRequest): Promise<Measurement> {
      if (state !== 'started') throw new InternalError(`router provider: measure while ${state}`);
      let latest: Poll;
      try {
        latest = await poll(request.signal);
      } catch (error) {
        const reason = `cannot read router statistics: ${messageOf(error)}`;
        return {
          at: now(),
          windowMs: request.windowMs,
          sites: Object.fromEntries(request.sites.map((s) => [s, readingError(reason)])),
        };
      }
      const base = baseline(polls, latest, request.windowMs);
      if (!base) {
        const reason = 'the first poll of the router counters is the baseline; values from the next measurement';
        return { at: latest.at, windowMs: 0, sites: Object.fromEntries(request.sites.map((s) => [s, noData(reason)])) };
      }
      const windowMs = latest.at - base.at;
      const cls = request.class ?? 'all';
      const totals = new Map<SiteName, Totals | null>();
      for (const site of ['source', 'target'] as const) {
        const name = options.siteNames?.[site] ?? site;
        totals.set(site, delta(base.stats.sites[name], latest.stats.sites[name], cls));
      }
      const all = [...totals.values()].reduce((sum, t) => sum + (t?.requests ?? 0), 0);
      const sites: Measurement['sites'] = {};
      for (const site of request.sites) sites[site] = reading(site, totals.get(site) ?? null, all, windowMs);
      return { at: latest.at, windowMs, sites };
    },
    async stop() {
      state = 'stopped';
      polls = [];
    },
    historySize: () => polls.length,
  };
}

/**
 * Bounded memory: keeps polls spaced at least 2 % of their age apart (newest first), so a window
 * of any length finds a baseline within 2 % of its start, in a few hundred polls.
 */
function thin(polls: Poll[]): Poll[] {
  const latest = polls[polls.length - 1] as Poll;
  const kept: Poll[] = [latest];
  let last = latest;
  for (let i = polls.length - 2; i >= 0; i--) {
    const p = polls[i] as Poll;
    if (last.at - p.at >= (latest.at - p.at) / 50) {
      kept.push(p);
      last = p;
    }
  }
  return kept.reverse();
}

/** The newest poll at or before the window's start; the oldest earlier poll when history is shorter. */
function baseline(polls: Poll[], latest: Poll, windowMs: number): Poll | null {
  const start = latest.at - windowMs;
  let candidate: Poll | null = null;
  for (const p of polls) {
    if (p === latest || p.at >= latest.at) continue;
    if (p.at <= start) candidate = p;
    else if (!candidate) return p;
  }
  return candidate;
}

function classesOf(cls: 'reads' | 'writes' | 'all'): Array<'reads' | 'writes'> {
  return cls === 'all' ? ['reads', 'writes'] : [cls];
}

function delta(
  before: Record<'reads' | 'writes', RouterClassStats> | undefined,
  after: Record<'reads' | 'writes', RouterClassStats> | undefined,
  cls: 'reads' | 'writes' | 'all',
): Totals | null {
  if (!after) return null;
  const t: Totals = { requests: 0, free: 0, errors: 0, p50Ms: null, p99Ms: null, buckets: new Map() };
  for (const c of classesOf(cls)) {
    const a = after[c];
    const b = before?.[c];
    t.requests += a.requests - (b?.requests ?? 0);
    t.errors += a.errors - (b?.errors ?? 0);
    if (a.stickyRequests === undefined) t.free = null;
    else if (t.free !== null) t.free += a.requests - (b?.requests ?? 0) - (a.stickyRequests - (b?.stickyRequests ?? 0));
    t.p50Ms = Math.max(t.p50Ms ?? 0, a.p50Ms ?? 0) || t.p50Ms;
    t.p99Ms = Math.max(t.p99Ms ?? 0, a.p99Ms ?? 0) || t.p99Ms;
    if (!a.latencyBuckets) t.buckets = null;
    if (t.buckets) {
      const previous = new Map(b?.latencyBuckets ?? []);
      for (const [upper, count] of a.latencyBuckets ?? []) {
        const d = count - (previous.get(upper) ?? 0);
        if (d > 0) t.buckets.set(upper, (t.buckets.get(upper) ?? 0) + d);
      }
    }
  }
  return t;
}

function reading(site: SiteName, t: Totals | null, all: number, windowMs: number): SiteReading {
  if (!t) return noData(`the router has no site "${site}"`);
  const seconds = Math.round(windowMs / 100) / 10;
  if (t.requests <= 0) return noData(`no requests to the ${site} in the last ${seconds} s`);
  let latency: LatencyObservations | undefined;
  let p50 = t.p50Ms;
  let p99 = t.p99Ms;
  if (t.buckets && t.buckets.size > 0) {
    const entries = [...t.buckets.entries()].sort((a, b) => a[0] - b[0]);
    latency = { kind: 'weighted', valuesMs: entries.map(([v]) => v), counts: entries.map(([, n]) => n) };
    p50 = latencyQuantile(latency, 0.5);
    p99 = latencyQuantile(latency, 0.99);
  }
  const values: Record<string, number> = {
    error_rate: t.errors / t.requests,
    request_rate: windowMs > 0 ? (t.requests * 1000) / windowMs : 0,
    share: all > 0 ? t.requests / all : 0,
  };
  if (p50 !== null) values.latency_p50_ms = p50;
  if (p99 !== null) values.latency_p99_ms = p99;
  if (t.free !== null) values.free_requests = Math.max(0, t.free);
  return { status: 'ok', values, samples: t.requests, ...(latency ? { latency } : {}) };
}

function wentBackwards(before: RouterStatsInput, after: RouterStatsInput): boolean {
  for (const [name, classes] of Object.entries(before.sites)) {
    const next = after.sites[name];
    if (!next) continue;
    if (next.reads.requests < classes.reads.requests || next.writes.requests < classes.writes.requests) return true;
  }
  return false;
}
