/**
 * The reverse proxy: each client request is classified, held if its class is held, sent to the
 * site the core chooses over a pooled upstream connection (undici), and streamed both ways with
 * back-pressure (no body is ever buffered whole). Requests of one client connection are handled
 * one after another, so their order survives a hold. A request whose connection to the upstream
 * failed (nothing sent) is retried once on another site that takes its class; nothing else is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';

type DispatchHandler = Dispatcher.DispatchHandler;
type DispatchController = Dispatcher.DispatchController;
import type { Logger } from '../../common/logger.js';
import type { RequestClass } from '../routes.js';
import { stickyCookie, stickySite } from './classify.js';
import type { RouterCore } from './core.js';
import { requestHeaders, responseHeaders } from './headers.js';
import type { HoldEntry } from './hold-queue.js';

export interface Upstream {
  pool: Pool;
  url: URL;
  /** The site URL's path, prepended to every request path ('' for none). */
  prefix: string;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  close(): Promise<void>;
}

const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return '';
}

/** True when the upstream connection never opened, so nothing of the request was sent. */
export function isConnectFailure(error: unknown): boolean {
  return CONNECT_FAILURES.has(errorCode(error));
}

interface LazyBody {
  stream: Readable;
  /** Whether any of the client's body has been read (then the request cannot be retried). */
  touched(): boolean;
}

/**
 * Wraps the client's request body so it is read only when the upstream asks for it, and so an
 * upstream failure destroys the wrapper, not the client's request (which may still be retried or
 * answered with 502).
 */
function lazyBody(req: IncomingMessage): LazyBody {
  let touched = false;
  const onData = (chunk: Buffer): void => {
    if (!stream.push(chunk)) req.pause();
  };
  const onEnd = (): void => void stream.push(null);
  const onError = (error: Error): void => void stream.destroy(error);
  const onClose = (): void => {
    if (!req.complete) stream.destroy(new Error('the client closed the connection before sending its whole body'));
  };
  const detach = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  const stream = new Readable({
    read() {
      if (!touched) {
        touched = true;
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', onError);
        req.once('close', onClose);
      }
      req.resume();
    },
    destroy(error, callback) {
      detach();
      callback(error);
    },
  });
  return { stream, touched: () => touched };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

interface Connection {
  busy: boolean;
  waiting: Array<() => void>;
}

export function createUpstreams(core: RouterCore): Map<string, Upstream> {
  const { options } = core;
  const upstreams = new Map<string, Upstream>();
  for (const [site, text] of Object.entries(options.sites)) {
    const url = new URL(text);
    const pool = new Pool(url.origin, {
      connections: options.connectionsPerSite,
      pipelining: 1,
      keepAliveTimeout: 4000,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyIdleTimeoutMs,
    });
    upstreams.set(site, { pool, url, prefix: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '') });
  }
  return upstreams;
}

export function createProxy(core: RouterCore, deps: { logger: Logger }): Proxy {
  const { options, stats } = core;
  const log = deps.logger;
  const upstreams = createUpstreams(core);
  const connections = new WeakMap<object, Connection>();
  const stickyMs = options.stickyAfterWriteMs;

  const reply = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(`${message}\n`);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, cls: RequestClass, site: string, attempt: number): void => {
    const upstream = upstreams.get(site) as Upstream;
    const started = performance.now();
    stats.started(site, cls);
    const body = hasBody(req) ? lazyBody(req) : undefined;
    let controller: DispatchController | null = null;
    let status = 0;
    let settled = false;
    let clientGone = false;
    const finish = (failed: boolean): void => {
      settled = true;
      res.off('close', onClientClose);
      stats.finished(site, cls, (performance.now() - started) * 1000, failed);
    };
    function onClientClose(): void {
      if (settled || res.writableFinished) return;
      clientGone = true;
      controller?.abort(new Error('the client closed the connection'));
    }
    res.once('close', onClientClose);

    const fail = (error: unknown): void => {
      if (settled) return;
      if (status !== 0 || clientGone) {
        // Mid-response (or the client left): nothing to answer; cut the client's connection so it
        // sees a truncated response rather than a complete-looking one.
        finish(!clientGone);
        res.destroy();
        return;
      }
      if (attempt === 0 && isConnectFailure(error) && !(body?.touched() ?? false)) {
        const other = core.alternative(cls, site);
        if (other !== null) {
          finish(true);
          stats.countRetry();
          log.warn('connect failed; retrying on another site', { site, other, code: errorCode(error) });
          forward(req, res, cls, other, 1);
          return;
        }
      }
      finish(true);
      body?.stream.destroy();
      const code = errorCode(error);
      const timedOut = TIMEOUTS.has(code) && code !== 'UND_ERR_CONNECT_TIMEOUT';
      log.warn('upstream failed', { site, cls, code: code || undefined, error: error instanceof Error ? error.message : String(error) });
      reply(res, timedOut ? 504 : 502, timedOut ? `upstream ${site} timed out` : `upstream ${site} failed (${code || 'error'})`);
    };

    const handler: DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (clientGone) c.abort(new Error('the client closed the connection'));
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return;
        status = statusCode;
        const out = responseHeaders(headers);
        if (cls === 'writes' && stickyMs > 0 && statusCode < 500) {
          const cookie = stickyCookie(site, Date.now(), stickyMs);
          const existing = out['set-cookie'];
          out['set-cookie'] = existing === undefined ? [cookie] : [...(Array.isArray(existing) ? existing : [String(existing)]), cookie];
        }
        try {
          res.writeHead(statusCode, out);
        } catch (error) {
          // A response Node cannot write (an odd status or header): treat it as a failed upstream.
          status = 0;
          c.abort(error instanceof Error ? error : new Error(String(error)));
        }
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
        finish(status >= 500);
      },
      onResponseError(_c, error) {
        fail(error);
      },
    };
    upstream.pool.dispatch(
      {
        origin: upstream.url.origin,
        path: upstream.prefix + (req.url ?? '/'),
        method: (req.method ?? 'GET') as 'GET',
        headers: requestHeaders(req),
        body: body?.stream ?? null,
      },
      handler,
    );
  };

  const dispatch = (req: IncomingMessage, res: ServerResponse, cls: RequestClass): void => {
    if (res.destroyed) return;
    const sticky = cls === 'reads' && stickyMs > 0 ? stickySite(req.headers.cookie, core.siteSet, Date.now(), stickyMs) : null;
    forward(req, res, cls, core.choose(cls, sticky), 0);
  };

  const admit = (req: IncomingMessage, res: ServerResponse): void => {
    if (res.destroyed) return;
    const cls = core.classifier.classify(req.method, req.url);
    if (!core.hold.holds(cls)) {
      dispatch(req, res, cls);
      return;
    }
    const onGone = (): void => core.hold.remove(entry);
    const entry: HoldEntry = {
      cls,
      resume: () => {
        res.off('close', onGone);
        dispatch(req, res, cls);
      },
    };
    if (!core.hold.enqueue(entry)) {
      stats.countRejected();
      reply(res, 503, 'the router is holding requests during a switch and its queue is full; retry shortly', {
        'retry-after': String(core.hold.retryAfterSeconds()),
      });
      return;
    }
    stats.countHeld();
    res.once('close', onGone);
  };

  return {
    upstreams,
    handle(req, res) {
      // One request at a time per client connection (pipelined requests wait their turn).
      let connection = connections.get(req.socket);
      if (connection === undefined) {
        connection = { busy: false, waiting: [] };
        connections.set(req.socket, connection);
      }
      const conn = connection;
      const run = (): void => {
        conn.busy = true;
        res.once('close', () => {
          const next = conn.waiting.shift();
          if (next) next();
          else conn.busy = false;
        });
        admit(req, res);
      };
      if (conn.busy) conn.waiting.push(run);
      else run();
    },
    async close() {
      await Promise.all([...upstreams.values()].map((u) => u.pool.destroy().catch(() => undefined)));
    },
  };
}
