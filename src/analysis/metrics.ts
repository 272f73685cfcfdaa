/**
 * The metrics a check may name in a plan (`metric: router.error_rate`). The plan rules refuse any
 * other name, so a typo is a plan error, not a check that never measures anything.
 * Providers add their metrics here.
 */
export const KNOWN_METRICS = {
  'router.error_rate': 'share of requests that failed (5xx, connect failure, timeout), per site',
  'router.latency_p50_ms': 'median latency through the router, per site, milliseconds',
  'router.latency_p99_ms': '99th percentile latency through the router, per site, milliseconds',
  'router.latency_ms':
    'the latency distribution through the router, per site, judged by Mann-Whitney U (relativeToSource: typical target/source ratio)',
  'router.request_rate': 'requests per second, per site',
  'router.share': 'share of requests the site really receives',
  'prometheus.query': 'a PromQL query (field `query`, with {{site}} templating) returning one number',
  'http.error_rate': "share of synthetic probes (field `probe`) against each site's endpoint that failed",
  'http.latency_p99_ms': 'p99 latency of synthetic probes, milliseconds',
  'http.latency_ms': 'the latency distribution of synthetic probes, judged by Mann-Whitney U',
  'sql.value': "a query (field `query`) against a site's database (field `database`) returning one number",
  'webhook.decision': 'an external system (field `url`) answers pass or fail',
} as const;

export type MetricName = keyof typeof KNOWN_METRICS;

/** Metrics judged as distributions (Mann-Whitney U between source and target) rather than one number. */
export const DISTRIBUTION_METRICS: ReadonlySet<MetricName> = new Set<MetricName>([
  'router.latency_ms',
  'http.latency_ms',
]);

/** `router.error_rate` → provider `router`, field `error_rate`. */
export function splitMetric(name: MetricName): { provider: string; field: string } {
  const dot = name.indexOf('.');
  return { provider: name.slice(0, dot), field: name.slice(dot + 1) };
}

export function isKnownMetric(name: string): name is MetricName {
  return Object.hasOwn(KNOWN_METRICS, name);
}
