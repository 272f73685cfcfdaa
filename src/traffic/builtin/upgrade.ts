/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through: the handshake is forwarded to the chosen
 * site over a fresh connection, then bytes are piped both ways until either side closes.
 *
 * Upgrades count as writes: a long-lived connection may carry writes, and a write sent to a
 * read-only replica fails. They are held like writes, counted in the statistics as one request
 * each (an error when the site cannot be reached or answers 5xx), and are not "in flight" once the
 * handshake is answered, so a drain never waits for a connection that may stay open for hours.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from '../../common/logger.js';
import type { RouterCore } from './core.js';
import { upgradeRequestHead } from './headers.js';
import type { HoldEntry } from './hold-queue.js';
import type { Upstream } from './proxy.js';
import { isConnectFailure } from './proxy.js';

export interface UpgradeHandler {
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every open tunnel. */
  close(): void;
}

function refuse(socket: Duplex, status: string, extra = ''): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n${extra}\r\n`);
}

export function createUpgradeHandler(
  core: RouterCore,
  upstreams: ReadonlyMap<string, Upstream>,
  deps: { logger: Logger },
): UpgradeHandler {
  const tunnels = new Set<Duplex>();
  const { stats, options } = core;
  const cls = 'writes' as const;

  const connect = (req: IncomingMessage, socket: Duplex, head: Buffer, site: string, attempt: number): void => {
    const upstream = upstreams.get(site) as Upstream;
    const { url } = upstream;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const started = performance.now();
    stats.started(site, cls);
    let answered = false;
    let connected = false;
    const done = (failed: boolean): void => {
      if (answered) return;
      answered = true;
      stats.finished(site, cls, (performance.now() - started) * 1000, failed);
    };
    const remote: net.Socket =
      url.protocol === 'https:'
        ? tls.connect({ host: url.hostname, port, servername: url.hostname })
        : net.connect({ host: url.hostname, port });
    remote.setTimeout(options.connectTimeoutMs);
    remote.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true;
      remote.setTimeout(0);
      tunnels.add(socket);
      remote.write(upgradeRequestHead(req, url.host, upstream.prefix));
      if (head.length > 0) remote.write(head);
      remote.once('data', (chunk: Buffer) => {
        const status = Number(chunk.subarray(9, 12).toString('latin1'));
        done(!(status >= 100 && status < 500));
      });
      remote.pipe(socket);
      socket.pipe(remote);
    });
    remote.once('timeout', () =>
      remote.destroy(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
    );
    remote.once('error', (error) => {
      if (!connected && attempt === 0 && isConnectFailure(error)) {
        const other = core.alternative(cls, site);
        if (other !== null) {
          done(true);
          stats.countRetry();
          connect(req, socket, head, other, 1);
          return;
        }
      }
      done(true);
      deps.logger.warn('upgrade to upstream failed', { site, error: error.message });
      if (connected) socket.destroy();
      else refuse(socket, '502 Bad Gateway');
    });
    remote.once('close', () => {
      // Closed before any answer to the handshake: a failure; after it: the tunnel's normal end.
      done(true);
      if (connected) socket.destroy();
    });
    socket.once('error', () => remote.destroy());
    socket.once('close', () => {
      tunnels.delete(socket);
      remote.destroy();
    });
  };

  const dispatch = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (socket.destroyed) return;
    connect(req, socket, head, core.choose(cls, null), 0);
  };

  return {
    handle(req, socket, head) {
      socket.on('error', () => undefined);
      if (!core.hold.holds(cls)) {
        dispatch(req, socket, head);
        return;
      }
      const onGone = (): void => core.hold.remove(entry);
      const entry: HoldEntry = {
        cls,
        resume: (answered) => {
          socket.off('close', onGone);
          dispatch(req, socket, head);
          // A tunnel may stay open for hours: it takes no slot of the released queue.
          answered();
        },
      };
      if (!core.hold.enqueue(entry)) {
        stats.countRejected();
        refuse(socket, '503 Service Unavailable', `retry-after: ${core.hold.retryAfterSeconds()}\r\n`);
        return;
      }
      stats.countHeld();
      socket.once('close', onGone);
    },
    close() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
  };
}
