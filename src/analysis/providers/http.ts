/**
 * The http provider: synthetic probes against each site's endpoint, so a service with little real
 * traffic still yields samples. `start` begins probing every site at `ratePerSecond` (at most
 * `concurrency` probes in flight per site, each bounded by `timeoutMs`); `measure` reads the probes
 * that finished in the window: error_rate, latency quantiles, and the latency samples of the
 * successful probes for the Mann-Whitney judge. A site that does not answer is a measurement of
 * the site (error_rate 1), not a provider failure. History is bounded in time and count.
 */
import { InputError, InternalError } from '../../common/errors.js';
import type { Measurement, MeasureRequest, SiteName, SiteReading } from '../measurement.js';
import { latencyQuantile, noData } from '../measurement.js';
import type { MetricProvider } from '../provider.js';
import { probeEndpoint, type ProbeSpec } from './http-probe.js';

export interface HttpProviderOptions {
  /** Each site's endpoint (base URL); a site without one reports NoData. */
  endpoints: Partial<Record<SiteName, string>>;
  probe: ProbeSpec;
  /** Probes per second per site; 5. */
  ratePerSecond?: number;
  /** Probes in flight per site at most; 4. */
  concurrency?: number;
  /** Bound on one probe; 2 s. */
  timeoutMs?: number;
  /** How long results are kept; 15 minutes (and at most 100 000 per site). */
  historyMs?: number;
}

interface Result {
  at: number;
  ok: boolean;
  latencyMs: number;
  reason?: string;
}

const MAX_RESULTS = 100_000;
export const HTTP_FIELDS = ['error_rate', 'latency_p50_ms', 'latency_p99_ms'] as const;

export function createHttpProvider(options: HttpProviderOptions, deps: { now?: () => number } = {}): MetricProvider {
  const now = deps.now ?? Date.now;
  const rate = options.ratePerSecond ?? 5;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 2000;
  const historyMs = options.historyMs ?? 15 * 60_000;
  if (!(rate > 0 && rate <= 1000))
    throw new InputError(`http probe rate ${rate}/s: give a rate between 0 and 1000 per second`);
  if (options.probe.bodyMatches !== undefined) {
    try {
      new RegExp(options.probe.bodyMatches);
    } catch (error) {
      throw new InputError(`probe.bodyMatches: not a regular expression: ${(error as Error).message}`);
    }
  }
  const results = new Map<SiteName, Result[]>();
  const inFlight = new Map<SiteName, number>();
  const pending = new Set<Promise<void>>();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  let state: 'new' | 'started' | 'stopped' = 'new';

  const sites = (Object.keys(options.endpoints) as SiteName[]).filter((s) => options.endpoints[s]);

  function fire(site: SiteName): void {
    const url = options.endpoints[site];
    if (!url || (inFlight.get(site) ?? 0) >= concurrency || controller.signal.aborted) return;
    inFlight.set(site, (inFlight.get(site) ?? 0) + 1);
    const p = probeEndpoint(url, options.probe, timeoutMs, controller.signal).then((r) => {
      inFlight.set(site, (inFlight.get(site) ?? 1) - 1);
      if (controller.signal.aborted) return;
      const list = results.get(site) ?? [];
      const at = now();
      list.push({ at, ok: r.ok, latencyMs: r.latencyMs, ...(r.reason ? { reason: r.reason } : {}) });
      while (list.length > MAX_RESULTS || (list[0] && at - list[0].at > historyMs)) list.shift();
      results.set(site, list);
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  function reading(site: SiteName, windowMs: number, at: number): SiteReading {
    if (!options.endpoints[site]) return noData(`no endpoint to probe for the ${site}`);
    const inWindow = (results.get(site) ?? []).filter((r) => r.at > at - windowMs && r.at <= at);
    if (inWindow.length === 0)
      return noData(`no probe of the ${site} finished in the last ${Math.round(windowMs / 100) / 10} s`);
    const failed = inWindow.filter((r) => !r.ok);
    const latencies = inWindow.filter((r) => r.ok).map((r) => r.latencyMs);
    const latency = { kind: 'samples' as const, valuesMs: latencies };
    const values: Record<string, number> = { error_rate: failed.length / inWindow.length };
    const p50 = latencyQuantile(latency, 0.5);
    const p99 = latencyQuantile(latency, 0.99);
    if (p50 !== null) values.latency_p50_ms = p50;
    if (p99 !== null) values.latency_p99_ms = p99;
    return { status: 'ok', values, samples: inWindow.length, latency };
  }

  return {
    kind: 'http',
    fields: HTTP_FIELDS,
    async start() {
      if (state === 'started') return;
      if (state === 'stopped') throw new InternalError('http provider: start after stop');
      state = 'started';
      for (const site of sites) fire(site);
      timer = setInterval(() => {
        for (const site of sites) fire(site);
      }, 1000 / rate);
      timer.unref();
    },
    async measure(request: MeasureRequest): Promise<Measurement> {
      if (state !== 'started') throw new InternalError(`http provider: measure while ${state}`);
      const at = now();
      return {
        at,
        windowMs: request.windowMs,
        sites: Object.fromEntries(request.sites.map((s) => [s, reading(s, request.windowMs, at)])),
      };
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      if (timer) clearInterval(timer);
      controller.abort(new Error('the http provider stopped'));
      await Promise.allSettled([...pending]);
      results.clear();
    },
  };
}
