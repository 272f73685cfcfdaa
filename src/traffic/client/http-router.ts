/**
 * A TrafficRouter that drives a `handoff router` running elsewhere (another process, a Deployment
 * in a cluster) through its admin API. Every answer is validated; 400 becomes InputError with the
 * router's own message, 401 an AdapterError about the token, anything else unexpected an
 * AdapterError (retryable when the router could not be reached or answered 5xx).
 */
import { Agent, request } from 'undici';
import type { z } from 'zod';
import { AdapterError, InputError, messageOf, TimeoutError } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { shadowStatusSchema } from '../../shadow/control.js';
import { BUILTIN_CAPABILITIES } from '../capabilities.js';
import type { TrafficRouter } from '../router.js';
import {
  errorBodySchema,
  holdResultSchema,
  lagResultSchema,
  releaseResultSchema,
  setRoutesResultSchema,
  snapshotSchema,
} from './schemas.js';

export interface HttpRouterOptions {
  /** The admin API's base URL, for example http://10.0.0.7:9090. */
  adminUrl: string;
  token: string;
  /** Bound on each call that does not wait for a drain (default 10 s). */
  timeoutMs?: number;
}

export interface HttpRouterDeps {
  /** The token is registered here so no error or log line can carry it. */
  redactor?: Redactor;
}

export interface HttpTrafficRouter extends TrafficRouter {
  /** Closes the client's connections. */
  close(): Promise<void>;
}

export function createHttpRouter(options: HttpRouterOptions, deps: HttpRouterDeps = {}): HttpTrafficRouter {
  let base: URL;
  try {
    base = new URL(options.adminUrl);
  } catch {
    throw new InputError(
      `router admin URL "${options.adminUrl}" is not a URL; write for example http://127.0.0.1:9090`,
    );
  }
  deps.redactor?.add(options.token);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agent = new Agent({ connections: 4, connect: { timeout: Math.min(timeoutMs, 5000) } });

  const call = async <S extends z.ZodType>(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    body?: unknown,
    extraMs = 0,
  ): Promise<z.output<S>> => {
    const url = new URL(path, base);
    const bound = timeoutMs + extraMs;
    let response;
    try {
      response = await request(url, {
        method,
        dispatcher: agent,
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: bound,
        bodyTimeout: bound,
        signal: AbortSignal.timeout(bound),
      });
    } catch (error) {
      const text = messageOf(error);
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new TimeoutError(`router admin API ${method} ${url.pathname} did not answer within ${bound} ms`, {
          cause: error,
        });
      }
      throw new AdapterError(`router admin API at ${base.origin} could not be reached: ${text}`, {
        cause: error,
        retryable: true,
      });
    }
    const text = await response.body.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      throw new AdapterError(
        `router admin API ${method} ${url.pathname} answered ${response.statusCode} with a body that is not JSON`,
      );
    }
    if (response.statusCode === 200) {
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
        throw new AdapterError(
          `router admin API ${method} ${url.pathname} answered in an unexpected shape${where}: ${issue?.message ?? ''} (is the router the same handoff version?)`,
        );
      }
      return parsed.data;
    }
    const error = errorBodySchema.safeParse(json);
    const message = error.success ? error.data.error.message : `status ${response.statusCode}`;
    if (response.statusCode === 400) throw new InputError(message);
    if (response.statusCode === 401) {
      throw new AdapterError(`router admin API refused the token (401); check HANDOFF_ROUTER_TOKEN or the token file`);
    }
    throw new AdapterError(`router admin API ${method} ${url.pathname} failed: ${message}`, {
      retryable: response.statusCode >= 500,
    });
  };

  return {
    // The admin API serves the built-in router, whose capabilities are fixed (same handoff version).
    capabilities: BUILTIN_CAPABILITIES,
    async setRoutes(routes, opts = {}) {
      return call(
        'PUT',
        '/v1/routes',
        setRoutesResultSchema,
        { ...routes, ...(opts.drainMs === undefined ? {} : { drainMs: opts.drainMs }) },
        opts.drainMs ?? 0,
      );
    },
    async hold(opts) {
      return call('POST', '/v1/hold', holdResultSchema, opts, opts.drainMs ?? 0);
    },
    async release() {
      return call('POST', '/v1/release', releaseResultSchema, {});
    },
    async reportLag(lag) {
      await call('PUT', '/v1/lag', lagResultSchema, lag);
    },
    async snapshot() {
      return call('GET', '/v1/snapshot', snapshotSchema);
    },
    shadow: {
      start: (settings) => call('PUT', '/v1/shadow', shadowStatusSchema, settings),
      watermark: (appliedThrough) =>
        call('PUT', '/v1/shadow/watermark', shadowStatusSchema, { appliedThrough: Math.floor(appliedThrough) }),
      status: (after = 0) => call('GET', `/v1/shadow?after=${after}`, shadowStatusSchema),
      // Stopping waits for copies in flight (bounded by the router at the mirror's timeout).
      stop: () => call('DELETE', '/v1/shadow', shadowStatusSchema, undefined, 130_000),
    },
    async close() {
      await agent.close();
    },
  };
}
