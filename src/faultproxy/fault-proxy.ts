/**
 * The fault proxy as a library: TCP proxies with toxics, driven from code or through Toxiproxy's
 * HTTP API at `url`. Tests and the rehearsal's fault schedule use the methods; `handoff faultproxy`
 * serves the same object. `close()` ends every connection, listener and the API.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { AdapterError } from '../common/errors.js';
import type { EventBus } from '../common/events.js';
import { createSilentLogger, type Logger } from '../common/logger.js';
import { createFaultProxyApi } from './api.js';
import { parseHostPort, type ProxyInput } from './proxy-body.js';
import { createProxyCollection } from './proxy-collection.js';
import { formatAddress, type Address, type ProxyInfo } from './proxy.js';
import type { ToxicInput, ToxicPatch, ToxicSpec } from './toxic-spec.js';

export type { ProxyInput } from './proxy-body.js';
export type { ProxyInfo } from './proxy.js';
export type { ToxicInput, ToxicPatch, ToxicSpec, ToxicStream, ToxicType } from './toxic-spec.js';

export interface FaultProxyOptions {
  /** Where the HTTP API listens: `HOST:PORT` (port 0: the kernel picks). Default 127.0.0.1:0. */
  listen?: string | Address;
  /** Read-ahead bound per connection and direction, in bytes (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Bound on connecting to an upstream (default 10 s). */
  connectTimeoutMs?: number;
  /** Draws toxicity and jitter; tests may fix it. Default Math.random. */
  random?: () => number;
}

export interface FaultProxy {
  /** The HTTP API, `http://host:port`. */
  readonly url: string;
  addProxy(input: ProxyInput): Promise<ProxyInfo>;
  removeProxy(name: string): Promise<void>;
  proxy(name: string): ProxyInfo;
  proxies(): ProxyInfo[];
  /** Takes a proxy down (listener closed, connections ended: new ones are refused) or up again. */
  setEnabled(name: string, enabled: boolean): Promise<ProxyInfo>;
  addToxic(proxy: string, toxic: ToxicInput): ToxicSpec;
  updateToxic(proxy: string, toxic: string, patch: ToxicPatch): ToxicSpec;
  removeToxic(proxy: string, toxic: string): void;
  /** Connections open through a proxy now. */
  connectionCount(proxy: string): number;
  /** Every proxy enabled, every toxic removed (Toxiproxy's `POST /reset`). */
  reset(): Promise<void>;
  /** Ends every connection and closes every listener and the API (idempotent). */
  close(): Promise<void>;
}

export interface FaultProxyDeps {
  logger?: Logger;
  /** Changes of proxies and toxics are emitted here (`faultproxy-*`, see events.ts). */
  events?: EventBus;
}

const API_CLOSE_BOUND_MS = 5_000;

function apiAddress(listen: FaultProxyOptions['listen']): Address {
  if (listen === undefined) return { host: '127.0.0.1', port: 0 };
  return typeof listen === 'string' ? parseHostPort(listen, 'listen', 'listen', '') : listen;
}

export async function createFaultProxy(
  options: FaultProxyOptions = {},
  deps: FaultProxyDeps = {},
): Promise<FaultProxy> {
  const logger = (deps.logger ?? createSilentLogger()).child({ component: 'faultproxy' });
  const listen = apiAddress(options.listen);
  const collection = createProxyCollection(
    {
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      ...(options.random ? { random: options.random } : {}),
    },
    { logger, ...(deps.events ? { events: deps.events } : {}) },
  );
  const app = createFaultProxyApi(collection, { logger });
  const server: ServerType = await new Promise((resolve, reject) => {
    const candidate = serve({ fetch: app.fetch, hostname: listen.host, port: listen.port });
    candidate.once('listening', () => resolve(candidate));
    candidate.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new AdapterError(
          `the fault proxy API cannot listen on ${formatAddress(listen)}: ${error.code ?? error.message}`,
          {
            cause: error,
          },
        ),
      ),
    );
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${formatAddress({ host: listen.host, port: bound.port })}`;
  logger.info('fault proxy API listening', { url });
  let closing: Promise<void> | null = null;

  return {
    url,
    addProxy: (input) => collection.create(input),
    removeProxy: (name) => collection.remove(name),
    proxy: (name) => collection.get(name),
    proxies: () => collection.list(),
    setEnabled: (name, enabled) => collection.update(name, { enabled }),
    addToxic: (proxy, toxic) => collection.addToxic(proxy, toxic),
    updateToxic: (proxy, toxic, patch) => collection.updateToxic(proxy, toxic, patch),
    removeToxic: (proxy, toxic) => collection.removeToxic(proxy, toxic),
    connectionCount: (proxy) => collection.connectionCount(proxy),
    reset: () => collection.reset(),
    close() {
      closing ??= (async () => {
        await collection.close();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, API_CLOSE_BOUND_MS);
          server.close(() => {
            clearTimeout(timer);
            resolve();
          });
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
