/**
 * The shadow stage's events: when mirroring starts, and its verdict (the gate `shadow.diff_rate`
 * with its value, threshold and sample size, the counts, and where the differences are). The audit
 * trail, the report and `handoff explain` read them.
 */
import type { ShadowCounters } from './ledger.js';

export type ShadowOutcome = 'Pass' | 'Fail' | 'NoData';

export interface ShadowEndpointView {
  endpoint: string;
  compared: number;
  differences: number;
  noise: number;
  stale: number;
  /** The fields that differed most, with their counts (at most 5). */
  paths: Array<[string, number]>;
}

export interface ShadowVerdict {
  outcome: ShadowOutcome;
  metric: 'shadow.diff_rate';
  /** Counted differences over compared reads (noise left out); null when nothing was compared. */
  value: number | null;
  threshold: number;
  samples: number;
  minSamples: number;
  share: number;
  durationMs: number;
  counters: ShadowCounters;
  /** Endpoints with differences first (at most 10). */
  endpoints: ShadowEndpointView[];
  /** The JSON-lines file holding every counted difference (its path). */
  evidenceFile: string;
  reason: string;
}

declare module '../common/events.js' {
  interface EventPayloads {
    'shadow-started': { share: number; durationMs: number; lagAware: boolean; methods: string[]; paths: string[] };
    'shadow-verdict': ShadowVerdict;
  }
}

export {};
