/**
 * The HTTP fault shim: a reverse proxy in front of one site's service (the router is given its URL
 * instead of the service's) that spoils answers on demand: `errorRate` of the requests are answered
 * 503 without reaching the service, and every answer waits `latencyMs` first. With no fault set it
 * only passes requests on.
 *
 * The share is exact, not drawn: a counter adds `errorRate` per request and answers 503 each time it
 * passes a whole number, so 25 % is every fourth request and a rehearsal is the same each time.
 * Bodies are streamed both ways (nothing is buffered beyond Node's stream buffers); connections to
 * the service are kept alive and bounded (MAX_SOCKETS); every wait is bounded (UPSTREAM_TIMEOUT_MS,
 * then 504; a service that cannot be reached: 502).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdapterError, InputError } from '../../common/errors.js';
import type { HttpFaultShim } from './types.js';

export interface HttpFaultShimOptions {
  /** The service's base URL (http only), for example http://127.0.0.1:8081. */
  upstream: string;
  /** Where the shim listens (default 127.0.0.1) and its port (default 0: the kernel picks). */
  host?: string;
  port?: number;
}

export interface HttpFaultShimStats {
  /** Requests the shim received, answered 503 itself, and could not pass on (502/504). */
  requests: number;
  injectedErrors: number;
  upstreamErrors: number;
}

export interface RunningHttpFaultShim extends HttpFaultShim {
  stats(): HttpFaultShimStats;
}

const MAX_SOCKETS = 256;
const UPSTREAM_TIMEOUT_MS = 30_000;
const CLOSE_BOUND_MS = 5_000;
/** Headers that belong to one connection, not to the message (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

function parseUpstream(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new InputError(`http fault shim: upstream "${text}" is not a URL; give http://HOST:PORT`, { cause });
  }
  if (url.protocol !== 'http:') {
    throw new InputError(`http fault shim: upstream ${url.origin} is not http; the shim speaks plain HTTP only`);
  }
  return url;
}

export async function createHttpFaultShim(options: HttpFaultShimOptions): Promise<RunningHttpFaultShim> {
  const upstream = parseUpstream(options.upstream);
  const basePath = upstream.pathname.replace(/\/$/, '');
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: 32 });
  let errorRate = 0;
  let latencyMs = 0;
  let credit = 0;
  const stats: HttpFaultShimStats = { requests: 0, injectedErrors: 0, upstreamErrors: 0 };
  const delays = new Set<NodeJS.Timeout>();

  const answerError = (res: http.ServerResponse, status: number, message: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-handoff-fault': 'http-shim' });
    res.end(`${message}\n`);
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const outgoing = http.request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${basePath}${req.url ?? '/'}`,
        headers: { ...endToEnd(req.headers), host: upstream.host },
        agent,
        timeout: UPSTREAM_TIMEOUT_MS,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(res);
        answer.once('error', () => res.destroy());
      },
    );
    let failed = false;
    const fail = (status: number, message: string): void => {
      if (failed || res.destroyed || res.writableEnded) return;
      failed = true;
      stats.upstreamErrors++;
      answerError(res, status, message);
    };
    outgoing.once('timeout', () => {
      fail(504, `http fault shim: the service did not answer within ${UPSTREAM_TIMEOUT_MS} ms`);
      outgoing.destroy();
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      fail(502, `http fault shim: the service cannot be reached (${error.code ?? error.message})`),
    );
    res.once('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    stats.requests++;
    credit += errorRate;
    const spoil = credit >= 1 - 1e-9;
    if (spoil) credit -= 1;
    const act = (): void => {
      if (!spoil) return forward(req, res);
      stats.injectedErrors++;
      req.resume();
      answerError(res, 503, 'http fault shim: 503 injected by a rehearsal fault');
    };
    if (latencyMs <= 0) return act();
    const timer = setTimeout(() => {
      delays.delete(timer);
      if (!res.destroyed) act();
    }, latencyMs);
    delays.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      delays.delete(timer);
    });
  };

  const server = http.createServer({ keepAlive: true }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new AdapterError(
          `http fault shim cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${error.code}`,
          {
            cause: error,
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${host}:${address.port}`,
    set(faults) {
      if (!(faults.errorRate >= 0 && faults.errorRate <= 1)) {
        throw new InputError(`http fault shim: errorRate must be between 0 and 1, got ${faults.errorRate}`);
      }
      if (!(faults.latencyMs >= 0 && Number.isFinite(faults.latencyMs))) {
        throw new InputError(
          `http fault shim: latencyMs must be a number of milliseconds >= 0, got ${faults.latencyMs}`,
        );
      }
      errorRate = faults.errorRate;
      latencyMs = faults.latencyMs;
      credit = 0;
    },
    clear() {
      errorRate = 0;
      latencyMs = 0;
      credit = 0;
    },
    stats: () => ({ ...stats }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of delays) clearTimeout(timer);
        delays.clear();
        const bound = setTimeout(resolve, CLOSE_BOUND_MS);
        server.close(() => {
          clearTimeout(bound);
          resolve();
        });
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}
