/**
 * One shadow read of a site (the copy to the target, or a second read of the source): the client's
 * request headers plus `X-Handoff-Shadow: 1` (and Envoy's `-shadow` Host suffix when asked), bounded
 * in time and body size. A failure gives status 0 (the site did not answer); an answer over the body
 * limit gives null (the comparison is dropped).
 */
import { Pool } from 'undici';
import type { Answer } from '../../shadow/compare.js';
import { lowerHeaders } from './mirror-capture.js';

export interface ShadowSite {
  pool: Pool;
  /** The site URL's path, prepended to every request path. */
  prefix: string;
  /** The Host sent when the `-shadow` suffix is asked for. */
  shadowHost: string;
}

export interface ShadowRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
}

export function createShadowSite(siteUrl: string, limits: { concurrency: number; timeoutMs: number }): ShadowSite {
  const url = new URL(siteUrl);
  return {
    pool: new Pool(url.origin, {
      connections: Math.min(limits.concurrency, 128),
      pipelining: 1,
      keepAliveTimeout: 4000,
      connect: { timeout: Math.min(limits.timeoutMs, 5000) },
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
    }),
    prefix: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    shadowHost: `${url.hostname}-shadow${url.port === '' ? '' : `:${url.port}`}`,
  };
}

export async function shadowRead(
  site: ShadowSite,
  request: ShadowRequest,
  options: { bodyBytes: number; timeoutMs: number; hostSuffix: boolean },
): Promise<Answer | null> {
  const headers: Record<string, string | string[]> = { ...request.headers, 'x-handoff-shadow': '1' };
  if (options.hostSuffix) headers.host = site.shadowHost;
  try {
    // Bounded by the pool's headers and body time-outs (the mirror's timeoutMs); no per-request timer.
    const response = await site.pool.request({
      path: site.prefix + request.url,
      method: request.method as 'GET',
      headers,
    });
    const length = Number(response.headers['content-length'] ?? NaN);
    if (length > options.bodyBytes) {
      await response.body.dump();
      return null;
    }
    let body: Buffer;
    if (Number.isFinite(length)) {
      body = Buffer.from(await response.body.arrayBuffer());
    } else {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > options.bodyBytes) {
          response.body.destroy();
          return null;
        }
        chunks.push(buf);
      }
      body = Buffer.concat(chunks);
    }
    return { status: response.statusCode, headers: lowerHeaders(response.headers), body };
  } catch {
    return { status: 0, headers: {}, body: Buffer.alloc(0) };
  }
}
