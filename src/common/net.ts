import fs from 'node:fs';
import net from 'node:net';
import { randomInt } from 'node:crypto';

/** The lowest port `freePort` picks from (below it are well-known and registered services). */
const LOWEST = 10_000;

/**
 * The kernel's ephemeral range: where it picks the local port of every outgoing connection and of
 * every listen on port 0. Linux only; elsewhere (or unreadable) null.
 */
export function ephemeralPorts(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | null {
  try {
    const [low, high] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) && low <= high
      ? [low, high]
      : null;
  } catch {
    return null;
  }
}

/**
 * A free TCP port on `host`, for a process that will listen on it a little later. Picked at random
 * below the kernel's ephemeral range when there is room (10,000 up to it): a port the kernel handed
 * out (listen on 0) could be handed out again, or taken as the local port of one of the many
 * connections a busy machine opens, before the child process binds it; in CI the demo's router
 * failed so ("listen 127.0.0.1:44485: the address is already in use"). Where there is no room, the
 * kernel picks.
 */
export async function freePort(
  host = '127.0.0.1',
  options: { range?: [number, number] | null; random?: (below: number) => number } = {},
): Promise<number> {
  const range = options.range === undefined ? ephemeralPorts() : options.range;
  const random = options.random ?? randomInt;
  if (range !== null && range[0] - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOWEST + random(range[0] - LOWEST);
      if (await listens(port, host)) return port;
    }
  }
  return kernelPort(host);
}

/** Whether `port` on `host` can be listened on now (it is closed again before this resolves). */
function listens(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Asks the kernel for a free TCP port on `host`. */
function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not get a free port'));
      });
    });
  });
}

/** Resolves after `ms` milliseconds; rejects early with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
