/**
 * Real TCP on 127.0.0.1 for the fault proxy's tests: small servers (echo, send-then-end) and a
 * client that records what arrives and when. Every wait is bounded.
 */
import net from 'node:net';

export interface TestServer {
  port: number;
  close(): Promise<void>;
}

/** A server calling `onSocket` for each connection; close() destroys every socket. */
export async function startServer(onSocket: (socket: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes what it reads; ends when the client ends. */
export const startEchoServer = (): Promise<TestServer> =>
  startServer((socket) => {
    socket.pipe(socket);
  });

/** Sends `data` on connect, then ends its side (FIN). */
export const startSendServer = (data: Buffer): Promise<TestServer> =>
  startServer((socket) => {
    socket.end(data);
    socket.resume();
  });

export interface Recording {
  socket: net.Socket;
  chunks: { data: Buffer; at: number }[];
  bytes(): number;
  text(): string;
  /** performance.now() of 'end' / 'close', and the error if one came. */
  endedAt: number | null;
  closedAt: number | null;
  error: NodeJS.ErrnoException | null;
  startedAt: number;
}

/** Connects to 127.0.0.1:`port` and records everything that arrives. */
export function connect(port: number): Promise<Recording> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const recording: Recording = {
      socket,
      chunks: [],
      bytes: () => recording.chunks.reduce((sum, chunk) => sum + chunk.data.length, 0),
      text: () => Buffer.concat(recording.chunks.map((chunk) => chunk.data)).toString(),
      endedAt: null,
      closedAt: null,
      error: null,
      startedAt: performance.now(),
    };
    socket.on('data', (data: Buffer) => recording.chunks.push({ data, at: performance.now() }));
    socket.on('end', () => (recording.endedAt = performance.now()));
    socket.on('close', () => (recording.closedAt = performance.now()));
    socket.once('connect', () => {
      recording.startedAt = performance.now();
      socket.off('error', reject);
      socket.on('error', (error: NodeJS.ErrnoException) => (recording.error = error));
      resolve(recording);
    });
    socket.once('error', reject);
  });
}

/** Waits until `condition` holds, polling every 5 ms; throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds from writing `message` until `expected` bytes have come back. */
export async function roundTrip(recording: Recording, message: string, timeoutMs = 5_000): Promise<number> {
  const before = recording.bytes();
  const started = performance.now();
  recording.socket.write(message);
  await waitUntil(() => recording.bytes() >= before + message.length, timeoutMs, `the echo of "${message}"`);
  return performance.now() - started;
}

/**
 * The fastest of `n` round trips of `message`. For upper bounds: one trip is lengthened by any
 * stall of the test process on a loaded machine, while a toxic on the path lengthens every trip.
 */
export async function fastestRoundTrip(recording: Recording, message: string, n = 3): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, await roundTrip(recording, message));
  return best;
}
