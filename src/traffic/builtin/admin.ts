/**
 * The admin API, on its own listener, behind a bearer token (compared in constant time, never
 * logged). Every body is JSON validated by the core; bad input gets 400 with a precise message and
 * changes nothing.
 *
 *   GET  /v1/state     routes, hold, lag          PUT  /v1/routes   weights per class (+ drainMs)
 *   GET  /v1/stats     statistics per site/class  PUT  /v1/lag      lag per site, ms or null
 *   GET  /v1/snapshot  everything above + shares  POST /v1/hold     classes, maxHoldMs, maxQueued, drainMs
 *   GET  /metrics      Prometheus text            POST /v1/release
 *   GET  /healthz      liveness (no token)
 *   GET  /v1/shadow?after=SEQ  shadow reads: counts, summaries, evidence newer than SEQ
 *   PUT  /v1/shadow    start shadow reads (settings)   DELETE /v1/shadow  stop them (waits, bounded)
 *   PUT  /v1/shadow/watermark  {appliedThrough: ms}: the target has applied the source's changes up to then
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { HandoffError, httpStatusFor, InputError, messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { RouterCore } from './core.js';
import type { Mirror } from './mirror.js';

const MAX_BODY = 64 * 1024;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time check of an `Authorization: Bearer TOKEN` header. */
export function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  const given = digest(match?.[1] ?? '');
  return timingSafeEqual(given, expected) && match !== null;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function readJson(req: IncomingMessage, optional: boolean): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new InputError(`the request body is larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        if (optional) resolve({});
        else reject(new InputError('the request body is empty; send a JSON object'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new InputError(`the request body is not valid JSON: ${messageOf(error)}`));
      }
    });
  });
}

type Handler = (req: IncomingMessage) => Promise<unknown>;

export function createAdminHandler(
  core: RouterCore,
  deps: { token: string; metrics: Registry; logger: Logger; mirror?: Mirror },
): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = digest(deps.token);
  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/v1/state': { GET: async () => core.state() },
    '/v1/stats': {
      GET: async () => ({ ...core.stats.snapshot(), holdQueued: core.hold.state().queued }),
    },
    '/v1/snapshot': { GET: async () => core.snapshot() },
    '/v1/routes': { PUT: async (req) => core.setRoutes(await readJson(req, false)) },
    '/v1/lag': {
      PUT: async (req) => {
        core.reportLag(await readJson(req, false));
        return { lag: core.state().lag };
      },
    },
    '/v1/hold': { POST: async (req) => core.startHold(await readJson(req, false)) },
    '/v1/release': {
      POST: async (req) => {
        await readJson(req, true);
        return core.release();
      },
    },
  };
  const mirror = deps.mirror;
  if (mirror !== undefined) {
    routes['/v1/shadow'] = {
      GET: async (req) =>
        mirror.status(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0) || 0),
      PUT: async (req) => mirror.start(await readJson(req, false)),
      DELETE: async () => mirror.stop(),
    };
    routes['/v1/shadow/watermark'] = { PUT: async (req) => mirror.watermark(await readJson(req, false)) };
  }

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (path === '/healthz' && method === 'GET') {
      send(res, 200, { ok: true });
      return;
    }
    if (!tokenMatches(req.headers.authorization, expected)) {
      deps.logger.warn('admin request refused: missing or wrong bearer token', { method, path });
      send(
        res,
        401,
        { error: { code: 'unauthorized', message: 'missing or wrong bearer token' } },
        {
          'www-authenticate': 'Bearer realm="handoff-router"',
        },
      );
      req.resume();
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      deps.metrics.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.contentType });
          res.end(text);
        },
        (error: unknown) => send(res, 500, { error: { code: 'internal', message: String(error) } }),
      );
      return;
    }
    const route = routes[path];
    if (route === undefined) {
      send(res, 404, { error: { code: 'not-found', message: `no such endpoint: ${path}` } });
      req.resume();
      return;
    }
    const handler = route[method];
    if (handler === undefined) {
      const allow = Object.keys(route).join(', ');
      send(res, 405, { error: { code: 'method', message: `${path} takes ${allow}` } }, { allow });
      req.resume();
      return;
    }
    handler(req).then(
      (body) => send(res, 200, body),
      (error: unknown) => {
        const status = httpStatusFor(error);
        const code = error instanceof HandoffError ? error.code : 'internal';
        const message = error instanceof Error ? error.message : String(error);
        if (status >= 500) deps.logger.error('admin request failed', { method, path, error: message });
        else deps.logger.warn('admin request refused', { method, path, status, error: message });
        if (!res.headersSent) send(res, status, { error: { code, message } });
      },
    );
  };
}
