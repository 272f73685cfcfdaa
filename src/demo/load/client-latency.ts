/**
 * What the clients felt, in fixed memory: every request's latency in a histogram per stage of the
 * run and per class (reads, writes), using the router's fixed bucket scheme (within about 3 %, no
 * sample kept), and the start and end of the most recent writes in a ring, so the write pause can
 * be measured at the client: the longest write that was in flight at any moment of a hold window.
 * A request counts in the stage that was current when it was sent; `baseline` is the load before
 * the run started.
 */
import { createHistogram, type Histogram } from '../../traffic/builtin/histogram.js';

export const BASELINE_STAGE = 'baseline';
/**
 * The baseline is measured in consecutive windows, each its own stage (`baseline-1`, `baseline-2`,
 * ...); the quietest of them is the clients' baseline (see `pickBaseline` in summarize.ts).
 */
export function baselineWindow(n: number): string {
  return `${BASELINE_STAGE}-${n}`;
}
/** Before the baseline: the demo's own processes warming up (JIT, pools); not a stage of the run. */
export const WARMUP_STAGE = 'warmup';
/**
 * The control (`handoff demo --control`): windows of the load with nothing migrating, after the
 * warm-up and before the baseline (`control-1`, `control-2`, ...); not stages of the run.
 */
export const CONTROL_STAGE = 'control';
export function controlWindow(n: number): string {
  return `${CONTROL_STAGE}-${n}`;
}

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface StageLatency {
  reads: LatencySummary;
  writes: LatencySummary;
  /** Requests due in this stage that the clients could not send (too many in flight). */
  notSent: number;
  /**
   * How long the clients themselves were stopped in this stage (`LoadStats.stops`): requests in
   * flight then are measured that much longer than the service took.
   */
  clientStopMs: number;
}

export interface ClientLatency {
  /** The stage new requests count in from now on. */
  setStage(stage: string): void;
  stage(): string;
  /** One finished (or failed) request: sent at `startMs`, over at `endMs` (epoch ms). */
  record(stage: string, cls: 'reads' | 'writes', startMs: number, endMs: number): void;
  /** One request due now that could not be sent; counts in the current stage. */
  notSent(): void;
  /** The clients were stopped for `ms` (counted in the current stage). */
  stopped(ms: number): void;
  /** Per stage, in the order the stages began. */
  stages(): Record<string, StageLatency>;
  /** Both classes of one stage together. */
  overall(stage: string): LatencySummary;
  /**
   * The longest latency of a write in flight at any moment in [fromMs, toMs] (it started before the
   * window ended and ended after it began); null when no write was. Writes still in flight count
   * up to `nowMs`.
   */
  writePause(fromMs: number, toMs: number, nowMs?: number): number | null;
  /** Writes in flight right now (for the pause of a write that has not come back yet). */
  writeStarted(startMs: number): number;
  writeEnded(token: number): void;
  /** Everything the questions above need, as plain data (for a load run in a worker thread). */
  snapshot(): LatencySnapshot;
}

/** A ClientLatency's data at one moment: structured-clonable (postMessage). */
export interface LatencySnapshot {
  at: number;
  stage: string;
  stages: Record<string, StageLatency>;
  overall: Record<string, LatencySummary>;
  /** Start and end (epoch ms) of the most recent finished writes, and starts of those still open. */
  starts: Float64Array;
  ends: Float64Array;
  open: number[];
}

/** Ring capacity: about 5 minutes of writes at 400 per second, two Float64Arrays (2 MB). */
const RING = 1 << 17;

const round = (micros: number | null): number | null => (micros === null ? null : Math.round(micros) / 1000);

export function summarize(h: Histogram): LatencySummary {
  return { count: h.count(), p50Ms: round(h.quantile(0.5)), p99Ms: round(h.quantile(0.99)), maxMs: round(h.max()) };
}

export function createClientLatency(initialStage = BASELINE_STAGE): ClientLatency {
  const byStage = new Map<string, { reads: Histogram; writes: Histogram; notSent: number; clientStopMs: number }>();
  let current = initialStage;
  const starts = new Float64Array(RING);
  const ends = new Float64Array(RING);
  let written = 0;
  const open = new Map<number, number>();
  let nextToken = 0;

  const row = (stage: string): { reads: Histogram; writes: Histogram; notSent: number; clientStopMs: number } => {
    let r = byStage.get(stage);
    if (r === undefined) {
      r = { reads: createHistogram(), writes: createHistogram(), notSent: 0, clientStopMs: 0 };
      byStage.set(stage, r);
    }
    return r;
  };
  row(current);

  return {
    setStage(stage) {
      current = stage;
      row(stage);
    },
    stage: () => current,
    record(stage, cls, startMs, endMs) {
      row(stage)[cls].record((endMs - startMs) * 1000);
    },
    notSent() {
      row(current).notSent += 1;
    },
    stopped(ms) {
      row(current).clientStopMs += ms;
    },
    stages() {
      const out: Record<string, StageLatency> = {};
      for (const [stage, r] of byStage)
        out[stage] = {
          reads: summarize(r.reads),
          writes: summarize(r.writes),
          notSent: r.notSent,
          clientStopMs: r.clientStopMs,
        };
      return out;
    },
    overall(stage) {
      const r = byStage.get(stage);
      const both = createHistogram();
      if (r) {
        both.merge(r.reads);
        both.merge(r.writes);
      }
      return summarize(both);
    },
    writeStarted(startMs) {
      const token = nextToken++;
      open.set(token, startMs);
      return token;
    },
    writeEnded(token) {
      const start = open.get(token);
      if (start === undefined) return;
      open.delete(token);
      const i = written % RING;
      starts[i] = start;
      ends[i] = Date.now();
      written += 1;
    },
    writePause(fromMs, toMs, nowMs = Date.now()) {
      return longestWrite(starts, ends, Math.min(written, RING), open.values(), fromMs, toMs, nowMs);
    },
    snapshot() {
      const n = Math.min(written, RING);
      const out: LatencySnapshot = {
        at: Date.now(),
        stage: current,
        stages: this.stages(),
        overall: {},
        starts: starts.slice(0, n),
        ends: ends.slice(0, n),
        open: [...open.values()],
      };
      for (const stage of byStage.keys()) out.overall[stage] = this.overall(stage);
      return out;
    },
  };
}

function longestWrite(
  starts: Float64Array,
  ends: Float64Array,
  n: number,
  open: Iterable<number>,
  fromMs: number,
  toMs: number,
  nowMs: number,
): number | null {
  let longest: number | null = null;
  for (let k = 0; k < n; k++) {
    const s = starts[k] as number;
    const e = ends[k] as number;
    if (s <= toMs && e >= fromMs && (longest === null || e - s > longest)) longest = e - s;
  }
  for (const s of open) if (s <= toMs && (longest === null || nowMs - s > longest)) longest = nowMs - s;
  return longest === null ? null : Math.round(longest);
}

const EMPTY: LatencySummary = { count: 0, p50Ms: null, p99Ms: null, maxMs: null };

/**
 * A finished load's latency, from its snapshot: answers every question; records nothing more.
 * Writes still open at the snapshot count up to the snapshot's moment.
 */
export function frozenLatency(snap: LatencySnapshot): ClientLatency {
  return {
    setStage: () => undefined,
    stage: () => snap.stage,
    record: () => undefined,
    notSent: () => undefined,
    stopped: () => undefined,
    stages: () => snap.stages,
    overall: (stage) => snap.overall[stage] ?? EMPTY,
    writePause: (fromMs, toMs, nowMs = snap.at) =>
      longestWrite(snap.starts, snap.ends, snap.starts.length, snap.open, fromMs, toMs, Math.min(nowMs, snap.at)),
    writeStarted: () => -1,
    writeEnded: () => undefined,
    snapshot: () => snap,
  };
}
