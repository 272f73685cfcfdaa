/**
 * Events of the throttle (declaration merging into the run's one event stream): when background
 * data work pauses, why (the measured value and its limit), and how long the pause lasted. The
 * demo's summary, the report and `explain` read these names.
 */
import type { ThrottleReason } from './controller.js';

declare module '../../common/events.js' {
  interface EventPayloads {
    'throttle-paused': {
      /** What was paused: `verify`, `recheck`, `repair`, `copy`. */
      work: string;
      reason: ThrottleReason;
      value: number;
      limit: number;
      message: string;
    };
    'throttle-resumed': {
      work: string;
      reason: ThrottleReason;
      pausedMs: number;
      /**
       * The share of the time the work takes from here (1: chunk after chunk), lowered by a
       * latency breach; absent in runs recorded before the backoff.
       */
      workShare?: number;
    };
    /** The run's latency baseline, measured in preflight (baseline.ts). */
    'traffic-baseline': { p99Ms: number | null; samples: number; windowMs: number };
    /** A latency pause that did not help re-took the baseline (controller.ts `rebaselineFrom`). */
    'throttle-rebaselined': { work: string; from: number | null; to: number; pausedMs: number; message: string };
  }
}

export {};
