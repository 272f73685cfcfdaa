/**
 * One proxied request/response exchange with an upstream site, over undici's dispatch API: the
 * request body is streamed lazily, the response streamed back with back-pressure, statistics
 * recorded once, and a connect failure (nothing sent) retried once on another site that takes the
 * class. The handler methods are shared functions (`this` is the exchange), so the hot path
 * allocates one object per request rather than a set of closures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { RequestClass } from '../routes.js';
import { stickyCookie } from './classify.js';
import type { RouterCore } from './core.js';
import { requestHeaders, responseHeaders } from './headers.js';

type DispatchController = Dispatcher.DispatchController;

export interface Upstream {
  pool: Pool;
  url: URL;
  /** The site URL's path, prepended to every request path ('' for none). */
  prefix: string;
}

export interface ProxyContext {
  core: RouterCore;
  upstreams: ReadonlyMap<string, Upstream>;
  log: Logger;
  stickyMs: number;
  /** Answers the client with a short text (or cuts the connection if the answer already started). */
  reply(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void;
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
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
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
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      callback(error);
    },
  });
  return { stream, touched: () => touched };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export interface Exchange extends Dispatcher.DispatchHandler {
  ctx: ProxyContext;
  req: IncomingMessage;
  res: ServerResponse;
  cls: RequestClass;
  site: string;
  attempt: number;
  started: number;
  body: LazyBody | undefined;
  controller: DispatchController | null;
  status: number;
  settled: boolean;
  clientGone: boolean;
  /** The retry that replaced this exchange, if any. */
  next: Exchange | null;
}

function finish(ex: Exchange, failed: boolean): void {
  ex.settled = true;
  ex.ctx.core.stats.finished(ex.site, ex.cls, (performance.now() - ex.started) * 1000, failed);
}

function fail(ex: Exchange, error: unknown): void {
  if (ex.settled) return;
  const { ctx, res } = ex;
  if (ex.status !== 0 || ex.clientGone) {
    // Mid-response (or the client left): nothing to answer; cut the client's connection so it sees
    // a truncated response rather than a complete-looking one.
    finish(ex, !ex.clientGone);
    res.destroy();
    return;
  }
  if (ex.attempt === 0 && isConnectFailure(error) && !(ex.body?.touched() ?? false)) {
    const other = ctx.core.alternative(ex.cls, ex.site);
    if (other !== null) {
      finish(ex, true);
      ctx.core.stats.countRetry();
      ctx.log.warn('connect failed; retrying on another site', { site: ex.site, other, code: errorCode(error) });
      ex.next = forward(ctx, ex.req, res, ex.cls, other, 1);
      return;
    }
  }
  finish(ex, true);
  ex.body?.stream.destroy();
  const code = errorCode(error);
  const timedOut = TIMEOUTS.has(code);
  ctx.log.warn('upstream failed', {
    site: ex.site,
    cls: ex.cls,
    code: code || undefined,
    error: error instanceof Error ? error.message : String(error),
  });
  ctx.reply(
    res,
    timedOut ? 504 : 502,
    timedOut ? `upstream ${ex.site} timed out` : `upstream ${ex.site} failed (${code || 'error'})`,
  );
}

function onRequestStart(this: Exchange, controller: DispatchController): void {
  this.controller = controller;
  if (this.clientGone) controller.abort(new Error('the client closed the connection'));
}

function onResponseStart(
  this: Exchange,
  controller: DispatchController,
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
): void {
  if (statusCode < 200) return;
  this.status = statusCode;
  const out = responseHeaders(headers);
  const { stickyMs } = this.ctx;
  if (this.cls === 'writes' && stickyMs > 0 && statusCode < 500) {
    const cookie = stickyCookie(this.site, Date.now(), stickyMs);
    const existing = out['set-cookie'];
    out['set-cookie'] =
      existing === undefined ? [cookie] : [...(Array.isArray(existing) ? existing : [String(existing)]), cookie];
  }
  try {
    this.res.writeHead(statusCode, out);
  } catch (error) {
    // A response Node cannot write (an odd status or header): treat it as a failed upstream.
    this.status = 0;
    controller.abort(error instanceof Error ? error : new Error(String(error)));
  }
}

function onResponseData(this: Exchange, controller: DispatchController, chunk: Buffer): void {
  if (!this.res.write(chunk)) {
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }
}

function onResponseEnd(this: Exchange): void {
  this.res.end();
  finish(this, this.status >= 500);
}

function onResponseError(this: Exchange, _controller: DispatchController, error: Error): void {
  fail(this, error);
}

/** The client's response closed: if the exchange is still running, the client left; stop it. */
export function clientClosed(ex: Exchange): void {
  if (ex.next !== null) {
    clientClosed(ex.next);
    return;
  }
  if (ex.settled || ex.res.writableFinished) return;
  ex.clientGone = true;
  ex.controller?.abort(new Error('the client closed the connection'));
}

/** Sends the request to `site` and streams the answer back; returns the exchange. */
export function forward(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  cls: RequestClass,
  site: string,
  attempt: number,
): Exchange {
  const upstream = ctx.upstreams.get(site) as Upstream;
  ctx.core.stats.started(site, cls);
  const ex: Exchange = {
    ctx,
    req,
    res,
    cls,
    site,
    attempt,
    started: performance.now(),
    body: hasBody(req) ? lazyBody(req) : undefined,
    controller: null,
    status: 0,
    settled: false,
    clientGone: false,
    next: null,
    onRequestStart,
    onResponseStart,
    onResponseData,
    onResponseEnd,
    onResponseError,
  };
  upstream.pool.dispatch(
    {
      origin: upstream.url.origin,
      path: upstream.prefix + (req.url ?? '/'),
      method: (req.method ?? 'GET') as 'GET',
      headers: requestHeaders(req),
      body: ex.body?.stream ?? null,
    },
    ex,
  );
  return ex;
}
