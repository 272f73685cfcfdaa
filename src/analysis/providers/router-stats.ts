/**
 * What the router provider reads: the built-in router's cumulative counters, per site and request
 * class. Plugs into either the admin API (`routerStatsOverHttp`) or the in-process router (any
 * `() => Promise<RouterStatsInput>`).
 *
 * For the Mann-Whitney judge the router must also expose `latencyBuckets` per site and class: the
 * cumulative count of requests per non-empty latency bucket since the router started, as
 * `[bucketUpperMs, count]` pairs, using one fixed bucket scheme for every site. Without it the
 * `router.latency_ms` check reports Error (it never guesses a distribution from two quantiles).
 */
import { request } from 'undici';
import { z } from 'zod';
import { AdapterError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { endpointUrl } from './endpoint-url.js';

const classStats = z.object({
  requests: z.number().nonnegative(),
  errors: z.number().nonnegative(),
  /** Reads sent by a read-after-write cookie rather than by weight (newer routers). */
  stickyRequests: z.number().nonnegative().optional(),
  p50Ms: z.number().nonnegative().nullable().optional(),
  p99Ms: z.number().nonnegative().nullable().optional(),
  latencyBuckets: z.array(z.tuple([z.number().nonnegative(), z.number().nonnegative()])).optional(),
});

export const routerStatsSchema = z.object({
  sites: z.record(z.string(), z.object({ reads: classStats, writes: classStats })),
  held: z.number().nonnegative().optional(),
  retries: z.number().nonnegative().optional(),
});

export type RouterClassStats = z.infer<typeof classStats>;
export type RouterStatsInput = z.infer<typeof routerStatsSchema>;
export type RouterStatsSource = (signal?: AbortSignal) => Promise<RouterStatsInput>;

export interface RouterStatsOverHttpOptions {
  /** The admin API base URL, for example `http://127.0.0.1:9901`. */
  adminUrl: string;
  token?: string;
  timeoutMs?: number;
}

/** Reads `GET /v1/stats` from the router's admin API, validated. The token is registered with the redactor. */
export function routerStatsOverHttp(
  options: RouterStatsOverHttpOptions,
  deps: { redactor?: Redactor } = {},
): RouterStatsSource {
  if (options.token) deps.redactor?.add(options.token);
  const endpoint = endpointUrl(options.adminUrl, 'router admin URL', deps.redactor);
  const url = new URL('/v1/stats', endpoint.base).toString();
  const timeoutMs = options.timeoutMs ?? 5000;
  const safe = (text: string): string => (deps.redactor ? deps.redactor.redact(text) : text);
  return async (signal) => {
    let status: number;
    let text: string;
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { ...endpoint.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      throw new AdapterError(safe(`router admin API ${url}: ${messageOf(error)}`), { retryable: true });
    }
    if (status !== 200)
      throw new AdapterError(safe(`router admin API ${url}: HTTP ${status}: ${text.slice(0, 200)}`), {
        retryable: status >= 500,
      });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AdapterError(`router admin API ${url}: the answer is not JSON`);
    }
    const parsed = routerStatsSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AdapterError(
        `router admin API ${url}: unexpected stats shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
      );
    }
    return parsed.data;
  };
}
