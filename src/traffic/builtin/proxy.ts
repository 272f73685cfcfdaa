/**
 * The reverse proxy: each client request is classified, held if its class is held, and sent to
 * the site the core chooses (see exchange.ts for the forwarding itself: pooled undici
 * connections, bodies streamed both ways, one retry after a connect failure). Requests of one
 * client connection are handled one after another, so their order survives a hold.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import type { Logger } from '../../common/logger.js';
import type { RequestClass } from '../routes.js';
import { stickySite } from './classify.js';
import type { RouterCore } from './core.js';
import { clientClosed, forward, type Exchange, type ProxyContext, type Upstream } from './exchange.js';
import type { HoldEntry } from './hold-queue.js';
import type { Mirror } from './mirror.js';

export { isConnectFailure, type Upstream } from './exchange.js';

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  close(): Promise<void>;
}

/** One client request from arrival to the end of its response. */
interface Pending {
  req: IncomingMessage;
  res: ServerResponse;
  conn: Connection;
  exchange: Exchange | null;
  held: HoldEntry | null;
  started: boolean;
  /** Set when a released hold sent it on: tells the hold queue its exchange has ended. */
  answered?: () => void;
  /** Its response closed (answered, or the client left). */
  closed?: boolean;
}

interface Connection {
  busy: boolean;
  waiting: Pending[];
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

function reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${message}\n`);
}

export function createProxy(core: RouterCore, deps: { logger: Logger; mirror?: Mirror }): Proxy {
  const { options, stats } = core;
  const mirror = deps.mirror ?? null;
  const upstreams = createUpstreams(core);
  const connections = new WeakMap<object, Connection>();
  const ctx: ProxyContext = { core, upstreams, log: deps.logger, stickyMs: options.stickyAfterWriteMs, reply };
  const stickyMs = options.stickyAfterWriteMs;

  const dispatch = (p: Pending, cls: RequestClass): void => {
    if (p.res.destroyed) return;
    const sticky =
      cls === 'reads' && stickyMs > 0 ? stickySite(p.req.headers.cookie, core.siteSet, Date.now(), stickyMs) : null;
    const site = core.choose(cls, sticky);
    if (mirror?.active === true) mirror.offer(p.req, p.res, cls, site); // shadow reads (mirror.ts)
    p.exchange = forward(ctx, p.req, p.res, cls, site, 0);
    if (sticky !== null) stats.countSticky(site);
  };

  const admit = (p: Pending): void => {
    if (p.res.destroyed) return;
    const cls = core.classifier.classify(p.req.method, p.req.url);
    if (!core.hold.holds(cls)) {
      dispatch(p, cls);
      return;
    }
    const entry: HoldEntry = {
      cls,
      resume: (answered) => {
        p.held = null;
        // A client that left while held is answered already (nothing is sent for it).
        if (p.closed) {
          answered();
          return;
        }
        p.answered = answered;
        dispatch(p, cls);
      },
    };
    if (!core.hold.enqueue(entry)) {
      stats.countRejected();
      reply(p.res, 503, 'the router is holding requests during a switch and its queue is full; retry shortly', {
        'retry-after': String(core.hold.retryAfterSeconds()),
      });
      return;
    }
    p.held = entry;
    stats.countHeld();
  };

  const start = (p: Pending): void => {
    p.started = true;
    p.conn.busy = true;
    admit(p);
  };

  const closed = (p: Pending): void => {
    p.closed = true;
    p.answered?.();
    if (!p.started) {
      // Closed while waiting behind an earlier request of its connection: just forget it.
      const index = p.conn.waiting.indexOf(p);
      if (index >= 0) p.conn.waiting.splice(index, 1);
      return;
    }
    if (p.held !== null) core.hold.remove(p.held); // the client left while held
    if (p.exchange !== null) clientClosed(p.exchange);
    const next = p.conn.waiting.shift();
    if (next) start(next);
    else p.conn.busy = false;
  };

  return {
    upstreams,
    handle(req, res) {
      // One request at a time per client connection (pipelined requests wait their turn).
      let conn = connections.get(req.socket);
      if (conn === undefined) {
        conn = { busy: false, waiting: [] };
        connections.set(req.socket, conn);
      }
      const p: Pending = { req, res, conn, exchange: null, held: null, started: false };
      res.once('close', () => closed(p));
      if (conn.busy) conn.waiting.push(p);
      else start(p);
    },
    async close() {
      await Promise.all([...upstreams.values()].map((u) => u.pool.destroy().catch(() => undefined)));
    },
  };
}
