/**
 * The shadow stage's books, kept where the comparisons happen (the router): counters, a summary per
 * endpoint and per differing path, the fields seen to differ between two answers of the source
 * (noise, Diffy's way), and the latest differences as evidence (a bounded ring; the engine pulls
 * them by sequence number and writes them to the state directory).
 *
 * A difference is noise when every field it differs on has also differed between two reads of the
 * source: sampled reads of that endpoint (Diffy's way), or a second read of this same request's
 * source taken after the target answered (the data changed meanwhile); otherwise it counts. `diffRate` is counted differences over compared
 * answers: the noise is already left out.
 */
import { fieldOf } from './json-diff.js';

export type DropReason = 'concurrency' | 'bytes' | 'body' | 'error';

export interface ShadowCounters {
  /** Matched reads offered for mirroring (before sampling). */
  matched: number;
  /** Copies sent to the target. */
  mirrored: number;
  /** Comparisons finished (same answer, counted difference or noise). */
  compared: number;
  same: number;
  /** Differences counted (noise left out). */
  differences: number;
  /** Differences explained by noise between two source answers. */
  noise: number;
  /** Differences seen before the target had caught up, never settled by a re-read. */
  stale: number;
  /** Re-reads of the target after it caught up. */
  rereads: number;
  /** Second reads of the source (noise samples), and how many differed from the first. */
  noiseSamples: number;
  noiseDiffering: number;
  dropped: Record<DropReason, number>;
}

export interface EndpointSummary {
  endpoint: string;
  compared: number;
  differences: number;
  noise: number;
  stale: number;
  /** Counted differences by field (JSON path with indexes as `*`, `status`, `header:NAME`, `body`). */
  paths: Record<string, number>;
}

export interface DifferenceRecord {
  seq: number;
  at: string;
  method: string;
  path: string;
  endpoint: string;
  sourceStatus: number;
  targetStatus: number;
  /** The paths at which the target's answer differs. */
  paths: string[];
  source: string;
  target: string;
  /** True when it was found on a re-read after the target caught up. */
  reread: boolean;
}

export interface ShadowLedgerReport {
  counters: ShadowCounters;
  diffRate: number | null;
  endpoints: EndpointSummary[];
  /** Noisy fields by endpoint. */
  noisy: Record<string, string[]>;
  evidence: DifferenceRecord[];
  /** Pass it as `after` next time to get only newer evidence. */
  nextSeq: number;
}

export type Verdict = 'same' | 'difference' | 'noise';

export interface ShadowLedger {
  drop(reason: DropReason): void;
  countMatched(): void;
  countMirrored(): void;
  countReread(): void;
  /** Records a second source read; `paths` are where it differed from the first. */
  noiseSample(endpoint: string, paths: readonly string[]): void;
  /**
   * Classifies and records a finished comparison. `requestNoise`: where a second read of the source
   * for this same request differed from the first (the data changed meanwhile); those fields are
   * noise for this request only.
   */
  record(
    endpoint: string,
    paths: readonly string[],
    evidence: () => Omit<DifferenceRecord, 'seq' | 'paths'>,
    requestNoise?: readonly string[],
  ): Verdict;
  stale(endpoint: string): void;
  report(after: number): ShadowLedgerReport;
}

const EVIDENCE_KEPT = 1000;
const EVIDENCE_PER_REPORT = 500;

function emptyCounters(): ShadowCounters {
  return {
    matched: 0,
    mirrored: 0,
    compared: 0,
    same: 0,
    differences: 0,
    noise: 0,
    stale: 0,
    rereads: 0,
    noiseSamples: 0,
    noiseDiffering: 0,
    dropped: { concurrency: 0, bytes: 0, body: 0, error: 0 },
  };
}

export function createShadowLedger(): ShadowLedger {
  const counters = emptyCounters();
  const endpoints = new Map<string, EndpointSummary>();
  const noisy = new Map<string, Set<string>>();
  const ring: DifferenceRecord[] = [];
  let seq = 0;

  const summary = (endpoint: string): EndpointSummary => {
    let s = endpoints.get(endpoint);
    if (s === undefined) {
      s = { endpoint, compared: 0, differences: 0, noise: 0, stale: 0, paths: {} };
      endpoints.set(endpoint, s);
    }
    return s;
  };

  return {
    drop(reason) {
      counters.dropped[reason]++;
    },
    countMatched() {
      counters.matched++;
    },
    countMirrored() {
      counters.mirrored++;
    },
    countReread() {
      counters.rereads++;
    },
    noiseSample(endpoint, paths) {
      counters.noiseSamples++;
      if (paths.length === 0) return;
      counters.noiseDiffering++;
      let set = noisy.get(endpoint);
      if (set === undefined) {
        set = new Set();
        noisy.set(endpoint, set);
      }
      for (const path of paths) set.add(fieldOf(path));
    },
    record(endpoint, paths, evidence, requestNoise = []) {
      const s = summary(endpoint);
      counters.compared++;
      s.compared++;
      if (paths.length === 0) {
        counters.same++;
        return 'same';
      }
      const set = noisy.get(endpoint);
      const here = new Set(requestNoise.map(fieldOf));
      const isNoise = (p: string): boolean => here.has(fieldOf(p)) || (set?.has(fieldOf(p)) ?? false);
      if (paths.every(isNoise)) {
        counters.noise++;
        s.noise++;
        return 'noise';
      }
      counters.differences++;
      s.differences++;
      // The summary counts the fields that made it a difference; the evidence keeps every path.
      for (const path of paths.filter((p) => !isNoise(p))) {
        const field = fieldOf(path);
        s.paths[field] = (s.paths[field] ?? 0) + 1;
      }
      seq++;
      ring.push({ seq, ...evidence(), paths: [...paths] });
      if (ring.length > EVIDENCE_KEPT) ring.shift();
      return 'difference';
    },
    stale(endpoint) {
      counters.stale++;
      summary(endpoint).stale++;
    },
    report(after) {
      const evidence = ring.filter((r) => r.seq > after).slice(0, EVIDENCE_PER_REPORT);
      const last = evidence[evidence.length - 1];
      return {
        counters: structuredClone(counters),
        diffRate: counters.compared === 0 ? null : counters.differences / counters.compared,
        endpoints: [...endpoints.values()]
          .map((s) => structuredClone(s))
          .sort((a, b) => b.differences - a.differences || a.endpoint.localeCompare(b.endpoint)),
        noisy: Object.fromEntries([...noisy].map(([k, v]) => [k, [...v].sort()])),
        evidence,
        nextSeq: last?.seq ?? Math.max(after, 0),
      };
    },
  };
}
