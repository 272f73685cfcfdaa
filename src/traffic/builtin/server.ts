/**
 * Starts the built-in router: the proxy listener, and the admin listener when an admin address is
 * given. `close()` stops accepting, releases any hold, lets in-flight requests finish (bounded),
 * then closes everything it opened.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../../common/errors.js';
import { createEventBus, type EventBus } from '../../common/events.js';
import { createSilentLogger, type Logger } from '../../common/logger.js';
import { createAdminHandler } from './admin.js';
import { createRouterCore, type RouterCore, type RouterCoreDeps } from './core.js';
import { createRouterMetrics } from './metrics.js';
import { formatAddress, resolveRouterOptions, type Address, type RouterOptionsInput } from './options.js';
import { createMirror, type Mirror } from './mirror.js';
import { createProxy } from './proxy.js';
import { createUpgradeHandler } from './upgrade.js';

export interface RouterServer {
  core: RouterCore;
  /** Shadow reads: copies a share of the source's reads to the target and compares the answers. */
  mirror: Mirror;
  /** The address the proxy listens on (the real port when 0 was asked for). */
  listen: Address;
  admin: Address | null;
  proxyUrl: string;
  adminUrl: string | null;
  /** Stops the router; waits up to `graceMs` (default 5000) for in-flight requests. */
  close(graceMs?: number): Promise<void>;
}

export interface RouterServerDeps {
  events?: EventBus;
  logger?: Logger;
  /** The release's timers (hold-queue.ts); for tests only. */
  hold?: RouterCoreDeps['hold'];
}

function listenOn(server: http.Server, address: Address, what: string): Promise<Address> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const reason = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.message;
      reject(new InputError(`${what} ${formatAddress(address)}: ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      const info = server.address() as AddressInfo;
      resolve({ host: address.host, port: info.port });
    });
  });
}

function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startRouterServer(input: RouterOptionsInput, deps: RouterServerDeps = {}): Promise<RouterServer> {
  const options = resolveRouterOptions(input);
  const events = deps.events ?? createEventBus();
  const logger = deps.logger ?? createSilentLogger();
  const core = createRouterCore(options, { events, logger, ...(deps.hold ? { hold: deps.hold } : {}) });
  const mirror = createMirror({ sites: options.sites }, { logger: logger.child({ part: 'shadow' }) });
  const proxy = createProxy(core, { logger: logger.child({ part: 'proxy' }), mirror });
  const upgrades = createUpgradeHandler(core, proxy.upstreams, { logger });

  const proxyServer = http.createServer({
    keepAliveTimeout: 5000,
    headersTimeout: Math.min(options.headersTimeoutMs, 60_000),
    requestTimeout: 0,
    noDelay: true,
  });
  proxyServer.timeout = options.clientIdleTimeoutMs;
  proxyServer.on('request', proxy.handle);
  proxyServer.on('upgrade', upgrades.handle);
  proxyServer.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  let adminServer: http.Server | null = null;
  const closeAll = async (graceMs: number): Promise<void> => {
    core.close();
    upgrades.close();
    await Promise.all([
      closeServer(proxyServer, graceMs),
      adminServer === null ? Promise.resolve() : closeServer(adminServer, 1000),
    ]);
    await Promise.all([proxy.close(), mirror.close()]);
  };

  try {
    const listen = await listenOn(proxyServer, options.listen, 'listen');
    let admin: Address | null = null;
    if (options.admin !== null && options.adminToken !== undefined) {
      const metrics = createRouterMetrics(core);
      adminServer = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 });
      adminServer.on(
        'request',
        createAdminHandler(core, {
          token: options.adminToken,
          metrics,
          mirror,
          logger: logger.child({ part: 'admin' }),
        }),
      );
      admin = await listenOn(adminServer, options.admin, 'admin');
    }
    const url = (a: Address): string => `http://${formatAddress(a)}`;
    events.emit(
      'router-started',
      { listen: formatAddress(listen), admin: admin === null ? null : formatAddress(admin), sites: options.sites },
      { actor: 'router', subject: 'router' },
    );
    logger.info('router started', {
      listen: formatAddress(listen),
      admin: admin && formatAddress(admin),
      sites: options.sites,
    });
    let closing: Promise<void> | null = null;
    return {
      core,
      mirror,
      listen,
      admin,
      proxyUrl: url(listen),
      adminUrl: admin === null ? null : url(admin),
      close(graceMs = 5000) {
        closing ??= closeAll(graceMs).then(() => {
          events.emit('router-stopped', { reason: 'closed' }, { actor: 'router', subject: 'router' });
          logger.info('router stopped');
        });
        return closing;
      },
    };
  } catch (error) {
    await closeAll(0);
    throw error;
  }
}
