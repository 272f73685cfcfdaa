/**
 * One TCP proxy: a listener, an upstream, its toxics and its open connections. Disabling it closes
 * the listener (new connections are refused) and every connection; enabling it listens again on
 * the same address. Toxics added or removed apply to open connections at once, as in Toxiproxy.
 */
import net from 'node:net';
import { AdapterError, HandoffError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { createLink, type Link } from './link.js';
import type { ToxicSpec } from './toxic-spec.js';

export interface Address {
  host: string;
  port: number;
}

export interface ProxyInfo {
  name: string;
  /** `host:port` it listens on (the real port once listening, when 0 was asked). */
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicSpec[];
}

export interface ProxySettings {
  name: string;
  listen: Address;
  upstream: Address;
  maxBufferedBytes: number;
  connectTimeoutMs: number;
  random?: () => number;
}

export interface TcpProxy {
  readonly name: string;
  info(): ProxyInfo;
  /** Where it listens (the real port once it has listened) and where it connects. */
  addresses(): { listen: Address; upstream: Address };
  /** Listens (idempotent: an enabled proxy stays as it is). */
  enable(): Promise<void>;
  /** Closes the listener and every connection (idempotent). */
  disable(): Promise<void>;
  addToxic(spec: ToxicSpec): void;
  updateToxic(spec: ToxicSpec): void;
  removeToxic(name: string): void;
  /** Connections open now. */
  connectionCount(): number;
}

export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

const CLOSE_BOUND_MS = 5_000;

export function createTcpProxy(settings: ProxySettings, deps: { logger: Logger }): TcpProxy {
  const logger = deps.logger.child({ proxy: settings.name });
  const listen: Address = { ...settings.listen };
  const toxics: ToxicSpec[] = [];
  const links = new Set<Link>();
  let server: net.Server | null = null;

  const onConnection = (client: net.Socket): void => {
    const link = createLink({
      client,
      upstream: settings.upstream,
      toxics,
      maxBufferedBytes: settings.maxBufferedBytes,
      connectTimeoutMs: settings.connectTimeoutMs,
      logger,
      ...(settings.random ? { random: settings.random } : {}),
      onClosed: () => links.delete(link),
    });
    links.add(link);
  };

  return {
    name: settings.name,
    addresses: () => ({ listen: { ...listen }, upstream: { ...settings.upstream } }),
    info: () => ({
      name: settings.name,
      listen: formatAddress(listen),
      upstream: formatAddress(settings.upstream),
      enabled: server !== null,
      toxics: toxics.map((toxic) => ({ ...toxic, attributes: { ...toxic.attributes } })),
    }),
    async enable() {
      if (server !== null) return;
      const candidate = net.createServer({ allowHalfOpen: true }, onConnection);
      await new Promise<void>((resolve, reject) => {
        candidate.once('error', (error: NodeJS.ErrnoException) => {
          const where = formatAddress(listen);
          if (error.code === 'EADDRINUSE') {
            reject(new HandoffError('state.conflict', `listen ${where}: address already in use; choose another port`));
          } else reject(new AdapterError(`listen ${where}: ${error.code ?? error.message}`, { cause: error }));
        });
        candidate.listen({ host: listen.host, port: listen.port }, () => resolve());
      });
      candidate.on('error', (error) => logger.warn('listener error', { error: error.message }));
      const address = candidate.address();
      if (address !== null && typeof address === 'object') listen.port = address.port;
      server = candidate;
      logger.info('proxy listening', { listen: formatAddress(listen), upstream: formatAddress(settings.upstream) });
    },
    async disable() {
      const current = server;
      if (current === null) return;
      server = null;
      const closed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_BOUND_MS);
        current.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      for (const link of links) link.destroy();
      await closed;
      logger.info('proxy disabled', { listen: formatAddress(listen) });
    },
    addToxic(spec) {
      toxics.push(spec);
      for (const link of links) link.addToxic(spec);
    },
    updateToxic(spec) {
      const index = toxics.findIndex((toxic) => toxic.name === spec.name);
      if (index >= 0) toxics[index] = spec;
      for (const link of links) link.updateToxic(spec);
    },
    removeToxic(name) {
      const index = toxics.findIndex((toxic) => toxic.name === name);
      if (index >= 0) toxics.splice(index, 1);
      for (const link of links) link.removeToxic(name);
    },
    connectionCount: () => links.size,
  };
}
