/**
 * The Prometheus provider: one PromQL query per site over the HTTP API (`GET /api/v1/query`), with
 * templating so one query serves both sites: `{{site}}` becomes the site's label value (`source` /
 * `target` unless `siteLabels` says otherwise) and `{{window}}` the window as a Prometheus duration
 * (for `rate(x[{{window}}])`). A vector with one element or a scalar is the value; an empty vector
 * or NaN is NoData; several series, an error answer, or no answer is Error. Prometheus gives no
 * observation count, so `samples` is 1 (checks on it use no minSamples unless the plan sets one).
 */
import { request } from 'undici';
import { z } from 'zod';
import { InternalError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import type { Measurement, MeasureRequest, SiteName, SiteReading } from '../measurement.js';
import { noData, readingError } from '../measurement.js';
import type { MetricProvider } from '../provider.js';
import { endpointUrl } from './endpoint-url.js';

export interface PrometheusProviderOptions {
  /** Base URL of the Prometheus server, for example `http://prometheus:9090`. */
  url: string;
  query: string;
  /** Label values substituted for {{site}}. */
  siteLabels?: Partial<Record<SiteName, string>>;
  timeoutMs?: number;
  /** Bearer token, if the server needs one (registered with the redactor). */
  token?: string;
}

const sample = z.tuple([z.number(), z.string()]);
const answer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })),
      }),
      z.object({ resultType: z.literal('scalar'), result: sample }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
      z.object({ resultType: z.literal('string'), result: z.unknown() }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() }),
]);

/** Renders a query for one site. */
export function renderQuery(query: string, site: string, windowMs: number): string {
  const seconds = Math.max(1, Math.round(windowMs / 1000));
  return query.replaceAll('{{site}}', site).replaceAll('{{window}}', `${seconds}s`);
}

export function createPrometheusProvider(
  options: PrometheusProviderOptions,
  deps: { redactor?: Redactor; now?: () => number } = {},
): MetricProvider {
  const now = deps.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (options.token) deps.redactor?.add(options.token);
  const safe = (text: string): string => (deps.redactor ? deps.redactor.redact(text) : text);
  const endpoint = endpointUrl(options.url, 'prometheus url', deps.redactor);
  const headers = { ...endpoint.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  let state: 'new' | 'started' | 'stopped' = 'new';

  async function queryOne(site: SiteName, windowMs: number, signal?: AbortSignal): Promise<SiteReading> {
    const promql = renderQuery(options.query, options.siteLabels?.[site] ?? site, windowMs);
    const url = new URL('api/v1/query', endpoint.base.href.endsWith('/') ? endpoint.base : `${endpoint.base.href}/`);
    url.searchParams.set('query', promql);
    url.searchParams.set('time', String(now() / 1000));
    url.searchParams.set('timeout', `${Math.max(1, Math.floor(timeoutMs / 1000))}s`);
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'GET',
        headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      return readingError(safe(`Prometheus at ${endpoint.display} did not answer: ${messageOf(error)}`));
    }
    let parsed: z.infer<typeof answer>;
    try {
      const result = answer.safeParse(JSON.parse(text));
      if (!result.success)
        return readingError(`Prometheus answered HTTP ${status} with an unexpected body`, status >= 500);
      parsed = result.data;
    } catch {
      return readingError(`Prometheus answered HTTP ${status} with a body that is not JSON`, status >= 500);
    }
    if (parsed.status === 'error') {
      return readingError(
        safe(`Prometheus refused the query ${JSON.stringify(promql)}: ${parsed.errorType ?? 'error'}: ${parsed.error}`),
        status >= 500,
      );
    }
    const data = parsed.data;
    let raw: string;
    if (data.resultType === 'scalar') raw = data.result[1];
    else if (data.resultType === 'vector') {
      if (data.result.length === 0) return noData(`the query ${JSON.stringify(promql)} returned no series`);
      if (data.result.length > 1) {
        return readingError(
          `the query ${JSON.stringify(promql)} returned ${data.result.length} series; aggregate it to one (sum, avg, max)`,
          false,
        );
      }
      raw = (data.result[0] as { value: [number, string] }).value[1];
    } else {
      return readingError(
        `the query ${JSON.stringify(promql)} returned a ${data.resultType}; write an instant query returning one number`,
        false,
      );
    }
    const value = Number(raw);
    if (Number.isNaN(value))
      return noData(`the query ${JSON.stringify(promql)} returned NaN (no traffic in the window?)`);
    if (!Number.isFinite(value)) return readingError(`the query ${JSON.stringify(promql)} returned ${raw}`, false);
    return { status: 'ok', values: { query: value }, samples: 1 };
  }

  return {
    kind: 'prometheus',
    fields: ['query'],
    async start() {
      if (state === 'stopped') throw new InternalError('prometheus provider: start after stop');
      state = 'started';
    },
    async measure(req: MeasureRequest): Promise<Measurement> {
      if (state !== 'started') throw new InternalError(`prometheus provider: measure while ${state}`);
      const readings = await Promise.all(req.sites.map((site) => queryOne(site, req.windowMs, req.signal)));
      return {
        at: now(),
        windowMs: req.windowMs,
        sites: Object.fromEntries(req.sites.map((site, i) => [site, readings[i]])),
      };
    },
    async stop() {
      state = 'stopped';
    },
  };
}
