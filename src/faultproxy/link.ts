/**
 * One proxied connection: the client's socket, a socket to the upstream, and a pump per direction
 * (upstream: client to server; downstream: server to client) that runs each chunk through the
 * toxics of its stream in the order they were added. Memory is bounded: a pump reads ahead at most
 * `maxBufferedBytes` (then pauses its source, so TCP pushes back) and waits for `drain` on writes.
 */
import net from 'node:net';
import type { Logger } from '../common/logger.js';
import type { ToxicSpec, ToxicStream } from './toxic-spec.js';
import { createToxicStage, type Chunk, type LinkControl, type ToxicStage } from './toxics.js';

export interface LinkOptions {
  client: net.Socket;
  upstream: { host: string; port: number };
  /** The proxy's toxics now, in the order they were added. */
  toxics: readonly ToxicSpec[];
  maxBufferedBytes: number;
  /** Bound on connecting to the upstream; the client is closed after it. */
  connectTimeoutMs: number;
  logger: Logger;
  random?: () => number;
  /** Called once, when both sockets have closed. */
  onClosed(): void;
}

export interface Link {
  addToxic(spec: ToxicSpec): void;
  updateToxic(spec: ToxicSpec): void;
  removeToxic(name: string): void;
  /** Ends both sockets now (the proxy is being disabled, deleted or closed). */
  destroy(): void;
}

/** A toxic on one connection: `stage` is null when the toxicity draw spared this connection. */
interface Entry {
  name: string;
  stage: ToxicStage | null;
}

interface Pump {
  readonly done: boolean;
  stop(): void;
}

const GRACEFUL_CLOSE_MS = 2_000;

function waitDrain(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function startPump(
  source: net.Socket,
  dest: net.Socket,
  entries: () => readonly Entry[],
  maxBuffered: number,
  isClosing: () => boolean,
  onDone: () => void,
): Pump {
  const queue: Chunk[] = [];
  let queued = 0;
  let ended = false;
  let stopped = false;
  let done = false;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  source.on('data', (data: Buffer) => {
    if (stopped) return;
    queue.push({ data, at: performance.now() });
    queued += data.length;
    if (queued >= maxBuffered) source.pause();
    notify();
  });
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  source.on('end', onEnd);
  source.on('close', onEnd);

  const write = async (chunk: Chunk): Promise<void> => {
    if (stopped || isClosing() || dest.destroyed || dest.writableEnded) return;
    if (!dest.write(chunk.data)) await waitDrain(dest);
  };
  const run = (stages: readonly ToxicStage[], index: number, chunk: Chunk): Promise<void> => {
    const stage = stages[index];
    if (stage === undefined) return write(chunk);
    return stage.pipe(chunk, (next) => run(stages, index + 1, next));
  };
  const active = (): ToxicStage[] => entries().flatMap((entry) => (entry.stage ? [entry.stage] : []));

  void (async () => {
    for (;;) {
      if (stopped || isClosing()) break;
      const chunk = queue.shift();
      if (chunk === undefined) {
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      queued -= chunk.data.length;
      if (queued < maxBuffered && source.isPaused() && !source.destroyed) source.resume();
      await run(active(), 0, chunk);
    }
    if (!stopped && !isClosing()) {
      for (const stage of active()) await stage.beforeEnd();
      if (!stopped && !isClosing() && !dest.destroyed) dest.end();
    }
    done = true;
    onDone();
  })();

  return {
    get done() {
      return done;
    },
    stop() {
      stopped = true;
      queue.length = 0;
      notify();
    },
  };
}

export function createLink(options: LinkOptions): Link {
  const { client, logger } = options;
  const random = options.random ?? Math.random;
  const entries: Record<ToxicStream, Entry[]> = { upstream: [], downstream: [] };
  let closing = false;
  let finished = false;
  let clientClosed = false;
  let serverClosed = false;

  const server = net.connect({ host: options.upstream.host, port: options.upstream.port, allowHalfOpen: true });
  client.setNoDelay(true);
  server.setNoDelay(true);
  const connectTimer = setTimeout(() => {
    logger.warn('upstream did not answer in time; closing the client', { timeoutMs: options.connectTimeoutMs });
    destroyAll();
  }, options.connectTimeoutMs);
  server.once('connect', () => clearTimeout(connectTimer));

  const stopStages = (): void => {
    for (const list of Object.values(entries)) for (const entry of list) entry.stage?.stop();
  };
  const destroyAll = (): void => {
    closing = true;
    clearTimeout(connectTimer);
    stopStages();
    pumps.forEach((pump) => pump.stop());
    client.destroy();
    server.destroy();
  };
  const control: LinkControl = {
    close(reason) {
      if (closing) return;
      logger.debug('closing a connection', { reason });
      closing = true;
      stopStages();
      pumps.forEach((pump) => pump.stop());
      client.end();
      server.end();
      setTimeout(destroyAll, GRACEFUL_CLOSE_MS).unref();
    },
    reset(reason) {
      if (closing) return;
      logger.debug('resetting a connection', { reason });
      closing = true;
      clearTimeout(connectTimer);
      stopStages();
      pumps.forEach((pump) => pump.stop());
      for (const socket of [client, server]) {
        if (socket.destroyed) continue;
        // RST where the socket is open; a socket still connecting has nothing to reset.
        if (socket.readyState === 'open' || socket.readyState === 'readOnly' || socket.readyState === 'writeOnly') {
          socket.resetAndDestroy();
        } else socket.destroy();
      }
    },
  };

  const attach = (spec: ToxicSpec): Entry => ({
    name: spec.name,
    stage: spec.toxicity >= 1 || random() < spec.toxicity ? createToxicStage(spec, control, random) : null,
  });
  for (const spec of options.toxics) entries[spec.stream].push(attach(spec));

  const pumps: Pump[] = [];
  const maybeFinished = (): void => {
    if (finished || !clientClosed || !serverClosed) return;
    finished = true;
    clearTimeout(connectTimer);
    stopStages();
    options.onClosed();
  };
  const onSocketError = (other: net.Socket) => (error: NodeJS.ErrnoException) => {
    logger.debug('connection error', { code: error.code ?? error.message });
    if (closing) return;
    closing = true;
    stopStages();
    pumps.forEach((pump) => pump.stop());
    // Pass a reset on as a reset; anything else closes the other side.
    if (error.code === 'ECONNRESET' && other.readyState === 'open') other.resetAndDestroy();
    else other.destroy();
  };
  client.on('error', onSocketError(server));
  server.on('error', onSocketError(client));
  client.on('close', () => {
    clientClosed = true;
    if (closing) server.destroy();
    maybeFinished();
  });
  server.on('close', () => {
    serverClosed = true;
    if (closing) client.destroy();
    maybeFinished();
  });

  const isClosing = (): boolean => closing;
  const later = (socket: net.Socket): void => {
    setTimeout(() => socket.destroy(), GRACEFUL_CLOSE_MS).unref();
  };
  // Both directions ended cleanly: the sockets close by themselves; make sure within a bound.
  const bothDone = (): void => {
    later(client);
    later(server);
  };
  pumps.push(
    startPump(
      client,
      server,
      () => entries.upstream,
      options.maxBufferedBytes,
      isClosing,
      () => {
        // The client is gone and all it sent is passed on: nobody can read the server's answer.
        if (clientClosed) later(server);
        if (pumps.every((pump) => pump.done)) bothDone();
      },
    ),
    startPump(
      server,
      client,
      () => entries.downstream,
      options.maxBufferedBytes,
      isClosing,
      () => {
        if (pumps.every((pump) => pump.done)) bothDone();
      },
    ),
  );

  return {
    addToxic(spec) {
      if (!closing) entries[spec.stream].push(attach(spec));
    },
    updateToxic(spec) {
      entries[spec.stream].find((entry) => entry.name === spec.name)?.stage?.update(spec);
    },
    removeToxic(name) {
      for (const stream of ['upstream', 'downstream'] as const) {
        const index = entries[stream].findIndex((entry) => entry.name === name);
        if (index < 0) continue;
        const [entry] = entries[stream].splice(index, 1);
        entry?.stage?.stop();
      }
    },
    destroy: destroyAll,
  };
}
