/**
 * One synthetic probe of a site's endpoint: method, path, expected status, optional body match,
 * bounded by a timeout. Used by the http provider, and by whoever must know whether a site answers
 * right now (the engine, before it rolls traffic back onto the source).
 */
import { request } from 'undici';
import { messageOf } from '../../common/errors.js';

export interface ProbeSpec {
  method: string;
  path: string;
  expectStatus: number;
  /** A regular expression the body must match. */
  bodyMatches?: string;
}

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  status: number | null;
  /** Why it failed (status, body, timeout, connection); absent when ok. */
  reason?: string;
}

const MAX_BODY = 64 * 1024;

export async function probeEndpoint(
  baseUrl: string,
  spec: ProbeSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const bodyPattern = spec.bodyMatches === undefined ? null : new RegExp(spec.bodyMatches);
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(new URL(spec.path, baseUrl), {
      method: spec.method as 'GET',
      headers: { 'user-agent': 'handoff-probe', 'x-handoff-probe': '1' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    let body = '';
    for await (const chunk of res.body) {
      if (body.length < MAX_BODY) body += (chunk as Buffer).toString('utf8');
    }
    const latencyMs = elapsed();
    if (res.statusCode !== spec.expectStatus) {
      return {
        ok: false,
        latencyMs,
        status: res.statusCode,
        reason: `HTTP ${res.statusCode}, expected ${spec.expectStatus}`,
      };
    }
    if (bodyPattern && !bodyPattern.test(body.slice(0, MAX_BODY))) {
      return { ok: false, latencyMs, status: res.statusCode, reason: `the body does not match /${spec.bodyMatches}/` };
    }
    return { ok: true, latencyMs, status: res.statusCode };
  } catch (error) {
    const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : messageOf(error);
    return { ok: false, latencyMs: elapsed(), status: null, reason: why };
  }
}
