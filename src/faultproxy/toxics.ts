/**
 * What each toxic does to one direction of one connection. A stage takes a chunk and passes it
 * (or parts of it, later, or nothing) to the next stage through `emit`, which resolves once the
 * data is written out (backpressure). Removing a toxic aborts its stage: a sleep in progress ends
 * at once and the chunk passes on, as Toxiproxy does ("don't drop data on the floor").
 */
import type { ToxicSpec } from './toxic-spec.js';

export interface Chunk {
  data: Buffer;
  /** When the proxy read it (performance.now() milliseconds): latency counts from here. */
  at: number;
}

export type Emit = (chunk: Chunk) => Promise<void>;

/** What a toxic may do to its whole connection. */
export interface LinkControl {
  /** Ends both sides gracefully (FIN) after what was written is flushed. */
  close(reason: string): void;
  /** Ends both sides with a TCP RST: the peers see ECONNRESET. */
  reset(reason: string): void;
}

export interface ToxicStage {
  readonly name: string;
  pipe(chunk: Chunk, emit: Emit): Promise<void>;
  /** Runs before this direction's end (FIN) passes on; slow_close waits here. */
  beforeEnd(): Promise<void>;
  /** The toxic's attributes changed: later chunks use the new ones. */
  update(spec: ToxicSpec): void;
  /** The toxic was removed or the connection closed: timers stop, sleeps end now. */
  stop(): void;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function attr(spec: ToxicSpec, key: string): number {
  return spec.attributes[key] ?? 0;
}

/** Toxiproxy's slicer: split around the middle, varied by ±size_variation, until pieces are small. */
export function sliceOffsets(length: number, average: number, variation: number, random = Math.random): number[] {
  const cuts: number[] = [];
  const split = (start: number, end: number): void => {
    if (end - start - average <= variation) {
      cuts.push(end);
      return;
    }
    const jitter = variation === 0 ? 0 : Math.floor(random() * variation * 2) - variation;
    const mid = Math.min(end - 1, Math.max(start + 1, start + Math.floor((end - start) / 2) + jitter));
    split(start, mid);
    split(mid, end);
  };
  if (length > 0) split(0, length);
  return cuts;
}

/** A stage for `spec` on one connection; `random` decides toxicity and jitter (tests may fix it). */
export function createToxicStage(initial: ToxicSpec, link: LinkControl, random = Math.random): ToxicStage {
  let spec = initial;
  const controller = new AbortController();
  const { signal } = controller;
  let timer: NodeJS.Timeout | undefined;
  // bandwidth: when the next byte may go (performance.now() ms).
  let nextSend = 0;
  // limit_data: bytes passed so far.
  let passed = 0;

  const armTimeout = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const after = attr(spec, 'timeout');
    if (spec.type === 'timeout' && after > 0 && !signal.aborted) {
      timer = setTimeout(() => link.close(`timeout toxic ${spec.name} after ${after} ms`), after);
    }
  };
  armTimeout();

  const pipes: Record<ToxicSpec['type'], (chunk: Chunk, emit: Emit) => Promise<void>> = {
    async latency(chunk, emit) {
      const jitter = attr(spec, 'jitter');
      const delay = attr(spec, 'latency') + (jitter > 0 ? Math.floor(random() * (2 * jitter + 1)) - jitter : 0);
      await pause(chunk.at + delay - performance.now(), signal);
      await emit(chunk);
    },
    async bandwidth(chunk, emit) {
      let data = chunk.data;
      while (data.length > 0) {
        const rate = attr(spec, 'rate'); // KB/s = bytes per millisecond
        if (rate <= 0 || signal.aborted) {
          await emit({ data, at: chunk.at });
          return;
        }
        // Pieces of at most 100 ms worth, as Toxiproxy sends them.
        const piece = data.subarray(0, rate * 100);
        data = data.subarray(piece.length);
        const now = performance.now();
        nextSend = Math.max(nextSend, now) + piece.length / rate;
        await pause(nextSend - now, signal);
        await emit({ data: piece, at: chunk.at });
      }
    },
    async slow_close(chunk, emit) {
      await emit(chunk);
    },
    async timeout() {
      // Data is dropped while the toxic is in place; the timer (if any) closes the connection.
    },
    async reset_peer() {
      await pause(attr(spec, 'timeout'), signal);
      if (!signal.aborted) link.reset(`reset_peer toxic ${spec.name}`);
    },
    async slicer(chunk, emit) {
      const cuts = sliceOffsets(chunk.data.length, attr(spec, 'average_size'), attr(spec, 'size_variation'), random);
      let start = 0;
      for (const end of cuts) {
        if (signal.aborted) {
          await emit({ data: chunk.data.subarray(start), at: chunk.at });
          return;
        }
        await emit({ data: chunk.data.subarray(start, end), at: chunk.at });
        start = end;
        if (end < chunk.data.length) await pause(attr(spec, 'delay') / 1000, signal);
      }
    },
    async limit_data(chunk, emit) {
      const remaining = Math.max(0, attr(spec, 'bytes') - passed);
      const data = remaining < chunk.data.length ? chunk.data.subarray(0, remaining) : chunk.data;
      if (data.length > 0) {
        passed += data.length;
        await emit({ data, at: chunk.at });
      }
      if (attr(spec, 'bytes') - passed <= 0) link.close(`limit_data toxic ${spec.name} after ${passed} bytes`);
    },
  };

  return {
    name: spec.name,
    async pipe(chunk, emit) {
      // A removed toxic lets data through untouched (its stage may still hold a chunk).
      if (signal.aborted) return emit(chunk);
      return pipes[spec.type](chunk, emit);
    },
    async beforeEnd() {
      if (spec.type === 'slow_close') await pause(attr(spec, 'delay'), signal);
    },
    update(next) {
      spec = next;
      armTimeout();
    },
    stop() {
      clearTimeout(timer);
      controller.abort();
    },
  };
}
