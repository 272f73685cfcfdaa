/**
 * From the plan's `analysis` section to a gate: resolves each check, makes its provider through an
 * explicit registry (an unknown provider is an error, never a silent fallback), shares one router
 * provider between all router checks (one poll a tick), and adds the observed-share check when a
 * weight is asked for. The engine calls `buildGate` once per step.
 */
import type { EventBus } from '../common/events.js';
import { InputError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import type { AnalysisSpec, CheckSpec } from '../plan/schema.js';
import { resolveCheck, type CheckConfig } from './check-config.js';
import { createGate, type Gate, type GateCheck } from './gate.js';
import type { SiteName } from './measurement.js';
import type { MetricProvider } from './provider.js';
import { createHttpProvider } from './providers/http.js';
import { createPrometheusProvider } from './providers/prometheus.js';
import { createRouterProvider } from './providers/router.js';
import type { RouterStatsSource } from './providers/router-stats.js';
import { createSqlProvider } from './providers/sql.js';
import { createWebhookProvider } from './providers/webhook.js';
import { evaluateShare, shareCheckConfig, type ShareTolerance } from './share.js';

export interface AnalysisSite {
  endpoint?: string;
  /** Database name in the plan → resolved URL (a secret: registered with the redactor by whoever resolved it). */
  databases: Record<string, string>;
}

export interface AnalysisContext {
  sites: Record<SiteName, AnalysisSite>;
  /** Where router statistics come from (admin API or in-process); needed by router.* checks. */
  routerStats?: RouterStatsSource;
  redactor?: Redactor;
  now?: () => number;
}

interface FactoryInput {
  spec: CheckSpec;
  config: CheckConfig;
  analysis: Partial<AnalysisSpec>;
  context: AnalysisContext;
  where: string;
  /** The shared router provider (made on first use). */
  router: () => MetricProvider;
}

type Factory = (input: FactoryInput) => MetricProvider;

function need<T>(value: T | undefined, where: string, what: string): T {
  if (value === undefined) throw new InputError(`${where}: ${what}`);
  return value;
}

const deps = (c: AnalysisContext) => ({
  ...(c.redactor ? { redactor: c.redactor } : {}),
  ...(c.now ? { now: c.now } : {}),
});

export const PROVIDER_FACTORIES: Record<string, Factory> = {
  router: ({ router }) => router(),
  prometheus: ({ spec, analysis, context, where }) =>
    createPrometheusProvider(
      {
        url: need(
          analysis.prometheus?.url,
          'spec.analysis.prometheus.url',
          `${spec.metric} needs the Prometheus server's URL`,
        ),
        query: need(
          spec.query,
          `${where}.query`,
          'prometheus.query needs a PromQL query (use {{site}} for the site label)',
        ),
      },
      deps(context),
    ),
  http: ({ spec, context, where }) => {
    const probe = need(spec.probe, `${where}.probe`, `${spec.metric} needs a probe (method, path, expectStatus)`);
    const endpoints: Partial<Record<SiteName, string>> = {};
    for (const site of ['source', 'target'] as const) {
      const endpoint = context.sites[site].endpoint;
      if (endpoint) endpoints[site] = endpoint;
    }
    if (!endpoints.target)
      throw new InputError(`${where}: ${spec.metric} probes the sites' endpoints; spec.target.endpoint is not set`);
    return createHttpProvider(
      {
        endpoints,
        probe: { ...probe, ...(probe.bodyMatches !== undefined ? { bodyMatches: probe.bodyMatches } : {}) },
      },
      deps(context),
    );
  },
  sql: ({ spec, context, where }) => {
    const database = need(
      spec.database,
      `${where}.database`,
      'sql.value needs the database to query (a name under spec.source/target.databases)',
    );
    const databases: Partial<Record<SiteName, string>> = {};
    for (const site of ['source', 'target'] as const) {
      const url = context.sites[site].databases[database];
      if (url) databases[site] = url;
    }
    if (!databases.target)
      throw new InputError(`${where}.database: "${database}" is not a database of the target site`);
    return createSqlProvider(
      { databases, query: need(spec.query, `${where}.query`, 'sql.value needs a query returning one number') },
      deps(context),
    );
  },
  webhook: ({ spec, context, where }) =>
    createWebhookProvider(
      { url: need(spec.url, `${where}.url`, 'webhook.decision needs the hook URL'), gate: spec.name },
      deps(context),
    ),
};

export interface BuildGateOptions {
  /** The gate's name in records, for example `shift-25`. */
  name: string;
  analysis: Partial<AnalysisSpec>;
  context: AnalysisContext;
  bakeMs: number;
  /** The read weight asked for (0..1); adds the observed-share check. Needs router statistics. */
  expectedShare?: number;
  shareTolerance?: Partial<ShareTolerance>;
  events?: EventBus;
  /** A provider for a check instead of the registry's (the engine's runtime overrides; tests); `undefined` falls through. */
  providerFor?: (check: CheckConfig) => MetricProvider | undefined;
}

/** Resolves every check and its provider; throws InputError naming the check on anything missing. */
export function buildGateChecks(options: BuildGateOptions): GateCheck[] {
  const { analysis, context } = options;
  let shared: MetricProvider | null = null;
  const router = (): MetricProvider => {
    if (!context.routerStats)
      throw new InputError('router.* checks need router statistics: spec.traffic.router must be the built-in router');
    shared ??= createRouterProvider({ stats: context.routerStats }, deps(context));
    return shared;
  };
  const checks: GateCheck[] = (analysis.checks ?? []).map((spec, i) => {
    const where = `spec.analysis.checks[${i}]`;
    const config = resolveCheck(spec, analysis, where);
    const given = options.providerFor?.(config);
    if (given) return { config, provider: given };
    const factory = PROVIDER_FACTORIES[config.provider];
    if (!factory)
      throw new InputError(
        `${where}.metric: no provider "${config.provider}"; known: ${Object.keys(PROVIDER_FACTORIES).join(', ')}`,
      );
    return { config, provider: factory({ spec, config, analysis, context, where, router }) };
  });
  if (options.expectedShare !== undefined) {
    const intervalMs = checks[0]?.config.intervalMs ?? 5000;
    const shareOptions = {
      expected: options.expectedShare,
      intervalMs,
      minSamples: Math.max(analysis.minSamples ?? 0, 100),
      ...(options.shareTolerance
        ? { tolerance: options.shareTolerance }
        : analysis.shareTolerance !== undefined
          ? { tolerance: { absolute: analysis.shareTolerance } }
          : {}),
    };
    checks.push({
      config: shareCheckConfig(shareOptions),
      provider: router(),
      evaluate: (m) => evaluateShare(shareOptions, m),
      sites: ['source', 'target'],
    });
  }
  return checks;
}

export function buildGate(options: BuildGateOptions): Gate {
  return createGate({
    name: options.name,
    checks: buildGateChecks(options),
    bakeMs: options.bakeMs,
    ...(options.events ? { events: options.events } : {}),
    ...(options.context.now ? { now: options.context.now } : {}),
  });
}
