/**
 * The webhook provider: an external system says pass or fail (like Flagger's confirm hooks).
 * `measure` POSTs `{ gate, sites, windowMs, metadata }` as JSON and expects a 2xx answer
 * `{ "decision": "pass" | "fail", "reason"?: string }`; the value `decision` is 1 for pass and 0
 * for fail, the same for every site asked (the hook judges the step, not a site). A non-2xx answer,
 * a body that is not that shape, or no answer within the timeout is Error (hold), never a Fail:
 * unlike Flagger, an unreachable hook does not roll anything back.
 */
import { request } from 'undici';
import { z } from 'zod';
import { InternalError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import type { Measurement, MeasureRequest, SiteReading } from '../measurement.js';
import { readingError } from '../measurement.js';
import type { MetricProvider } from '../provider.js';
import { endpointUrl } from './endpoint-url.js';

export interface WebhookProviderOptions {
  url: string;
  /** Bound on the call; 10 s. */
  timeoutMs?: number;
  /** Extra headers (for example authorization; their values are registered with the redactor). */
  headers?: Record<string, string>;
  /** Passed to the hook as `metadata` (run id, stage, weight). */
  metadata?: Record<string, unknown>;
  /** Named in the request as `gate`. */
  gate?: string;
}

const answer = z.object({ decision: z.enum(['pass', 'fail']), reason: z.string().max(2000).optional() });

export function createWebhookProvider(
  options: WebhookProviderOptions,
  deps: { redactor?: Redactor; now?: () => number } = {},
): MetricProvider {
  const now = deps.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  for (const value of Object.values(options.headers ?? {})) if (value.length >= 4) deps.redactor?.add(value);
  const safe = (text: string): string => (deps.redactor ? deps.redactor.redact(text) : text);
  const endpoint = endpointUrl(options.url, 'webhook url', deps.redactor);
  const where = safe(endpoint.display);
  let state: 'new' | 'started' | 'stopped' = 'new';

  async function call(req: MeasureRequest): Promise<SiteReading> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await request(endpoint.base, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...endpoint.headers, ...options.headers },
        body: JSON.stringify({
          gate: options.gate ?? null,
          sites: req.sites,
          windowMs: req.windowMs,
          metadata: options.metadata ?? {},
        }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      return readingError(
        safe(`webhook ${where} did not answer${timeout.aborted ? ` within ${timeoutMs} ms` : `: ${messageOf(error)}`}`),
      );
    }
    if (status < 200 || status > 299)
      return readingError(`webhook ${where} answered HTTP ${status}`, status >= 500 || status === 429);
    let parsed: z.infer<typeof answer>;
    try {
      const result = answer.safeParse(JSON.parse(text));
      if (!result.success)
        return readingError(`webhook ${where} answered without {"decision": "pass" | "fail"}`, false);
      parsed = result.data;
    } catch {
      return readingError(`webhook ${where} answered with a body that is not JSON`, false);
    }
    return {
      status: 'ok',
      values: { decision: parsed.decision === 'pass' ? 1 : 0 },
      samples: 1,
      ...(parsed.reason ? { note: safe(parsed.reason) } : {}),
    };
  }

  return {
    kind: 'webhook',
    fields: ['decision'],
    async start() {
      if (state === 'stopped') throw new InternalError('webhook provider: start after stop');
      state = 'started';
    },
    async measure(req: MeasureRequest): Promise<Measurement> {
      if (state !== 'started') throw new InternalError(`webhook provider: measure while ${state}`);
      const reading = await call(req);
      return { at: now(), windowMs: req.windowMs, sites: Object.fromEntries(req.sites.map((s) => [s, reading])) };
    },
    async stop() {
      state = 'stopped';
    },
  };
}
