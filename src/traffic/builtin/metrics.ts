/**
 * The router's Prometheus metrics, in a registry of its own (never the global one). Values are
 * read from the core's statistics when scraped, so the request path pays nothing for them.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { REQUEST_CLASSES } from '../routes.js';
import type { RouterCore } from './core.js';

export function createRouterMetrics(core: RouterCore): Registry {
  const registry = new Registry();
  const labelNames = ['site', 'class'] as const;
  const each = (fn: (site: string, cls: (typeof REQUEST_CLASSES)[number]) => void): void => {
    for (const site of core.sites) for (const cls of REQUEST_CLASSES) fn(site, cls);
  };
  new Counter({
    name: 'handoff_router_requests_total',
    help: 'Requests sent to each site, per request class.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((site, cls) => this.inc({ site, class: cls }, core.stats.counters(site, cls).requests));
    },
  });
  new Counter({
    name: 'handoff_router_errors_total',
    help: 'Requests that failed (5xx answer, connect failure or time-out), per site and class.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((site, cls) => this.inc({ site, class: cls }, core.stats.counters(site, cls).errors));
    },
  });
  new Gauge({
    name: 'handoff_router_in_flight',
    help: 'Requests in flight to each site.',
    labelNames,
    registers: [registry],
    collect() {
      each((site, cls) => this.set({ site, class: cls }, core.stats.counters(site, cls).inFlight));
    },
  });
  new Gauge({
    name: 'handoff_router_latency_seconds',
    help: 'Latency quantiles (0.5, 0.99) per site and class since the router started.',
    labelNames: ['site', 'class', 'quantile'] as const,
    registers: [registry],
    collect() {
      this.reset();
      each((site, cls) => {
        const histogram = core.stats.counters(site, cls).latency;
        for (const q of [0.5, 0.99]) {
          const value = histogram.quantile(q);
          if (value !== null) this.set({ site, class: cls, quantile: String(q) }, value / 1e6);
        }
      });
    },
  });
  new Gauge({
    name: 'handoff_router_weight',
    help: 'The configured share of each site, per request class.',
    labelNames,
    registers: [registry],
    collect() {
      const routes = core.routes();
      each((site, cls) => this.set({ site, class: cls }, routes[cls][site] ?? 0));
    },
  });
  new Gauge({
    name: 'handoff_router_lag_seconds',
    help: 'The replication lag last reported for each site (absent while unknown).',
    labelNames: ['site'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [site, lag] of Object.entries(core.state().lag)) if (lag !== null) this.set({ site }, lag / 1000);
    },
  });
  new Gauge({
    name: 'handoff_router_hold_queued',
    help: 'Requests waiting in the hold queue.',
    registers: [registry],
    collect() {
      this.set(core.hold.state().queued);
    },
  });
  new Gauge({
    name: 'handoff_router_hold_active',
    help: '1 while a hold is active.',
    registers: [registry],
    collect() {
      this.set(core.hold.state().active ? 1 : 0);
    },
  });
  for (const [name, help, key] of [
    ['handoff_router_held_total', 'Requests ever held.', 'held'],
    ['handoff_router_rejected_total', 'Requests answered 503 because the hold queue was full.', 'rejected'],
    ['handoff_router_retries_total', 'Requests retried on another site after a connect failure.', 'retries'],
  ] as const) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(core.stats.totals()[key]);
      },
    });
  }
  return registry;
}
