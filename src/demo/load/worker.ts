/**
 * The demo's load in a worker thread of its own. The engine runs in the demo's main thread, and its
 * synchronous moments (module loading, SQLite journal writes, audit fsyncs) would otherwise stall the
 * clients too: requests not sent and latencies the service never caused. Real clients do not share
 * an event loop with the migration tool; in a worker they do not either.
 *
 * The same `LoadGenerator` as `startLoad`: stage changes go to the worker at once; the ledger, the
 * stats and the latency come back when the load stops (before that they are empty).
 */
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InternalError } from '../../common/errors.js';
import { BASELINE_STAGE, createClientLatency, frozenLatency, type LatencySnapshot } from './client-latency.js';
import { emptyLoadStats, type LoadGenerator, type LoadOptions, type LoadStats } from './generator.js';
import { createLedger, type Ledger } from './ledger.js';

export type WorkerRequest = { type: 'stage'; stage: string } | { type: 'stop' };
export type WorkerReply =
  { type: 'started' } | { type: 'stopped'; stats: LoadStats; ledger: Ledger; latency: LatencySnapshot };
type Stopped = Extract<WorkerReply, { type: 'stopped' }>;

/** Bound on the worker's answer to `stop` beyond the requests' own time-out. */
const STOP_GRACE_MS = 5_000;

function workerFile(): string {
  for (const name of ['./worker-main.js', './worker-main.ts']) {
    const file = fileURLToPath(new URL(name, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new InternalError('the load worker (src/demo/load/worker-main) is missing beside the generator');
}

/** Starts the load in a worker thread. `options.history` is not supported there (it is left out). */
export function startLoadInWorker(
  options: Omit<LoadOptions, 'history'>,
  deps: { execArgv?: string[] } = {},
): LoadGenerator & { ready: Promise<void> } {
  const file = workerFile();
  const worker = file.endsWith('.ts')
    ? // From source: register tsx in the worker itself (a loader given by --import does not reach a
      // worker's entry module on Node 20), then load the entry.
      new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
          `.then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`,
        { eval: true, workerData: options, execArgv: deps.execArgv ?? [] },
      )
    : new Worker(file, { workerData: options, execArgv: deps.execArgv ?? process.execArgv });
  let result: Stopped | null = null;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const empty = {
    ledger: createLedger(),
    latency: createClientLatency(options.initialStage ?? BASELINE_STAGE),
  };
  const done = new Promise<LoadStats>((resolve, reject) => {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'started') return markReady();
      result = reply;
      markReady();
      resolve(reply.stats);
      void worker.terminate();
    });
    worker.once('error', (error) => {
      markReady();
      reject(error);
    });
    worker.once('exit', (code) => {
      markReady();
      if (!result) reject(new InternalError(`the load worker ended (exit code ${code}) before reporting`));
    });
  });
  done.catch(() => undefined);
  const timeout = options.requestTimeoutMs ?? 10_000;
  return {
    get ledger() {
      return result?.ledger ?? empty.ledger;
    },
    get latency() {
      return result ? frozenLatency(result.latency) : empty.latency;
    },
    setStage(next) {
      empty.latency.setStage(next);
      if (!result) worker.postMessage({ type: 'stage', stage: next } satisfies WorkerRequest);
    },
    stats: () => (result as Stopped | null)?.stats ?? emptyLoadStats(),
    /** Resolves once the worker sends requests (its start-up takes a moment), or it failed. */
    ready,
    done,
    async stop() {
      if (!result) worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new InternalError('the load worker did not stop in time')),
          timeout + STOP_GRACE_MS,
        );
      });
      try {
        return await Promise.race([done, bound]);
      } catch (error) {
        await worker.terminate();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
