/** The throttle's limits and bounds from a plan's `spec.data[].throttle` (schema defaults applied). */
import { parseDuration } from '../../common/duration.js';
import type { DataThrottleSpec } from '../../plan/schema.js';
import type { ThrottleLimits } from './controller.js';
import type { PacerOptions } from './pacer.js';

/** Chunks never shrink below this many rows (a statement per 1,000 rows is already cheap to pause between). */
export const MIN_CHUNK_ROWS = 1000;

export function throttleOptionsFromPlan(spec: DataThrottleSpec, chunkRows: number): Omit<PacerOptions, 'work'> {
  const load = spec.maxSourceLoad;
  const limits: ThrottleLimits = {
    maxLatencyRatio: spec.maxLatencyRatio,
    latencyFloorMs: parseDuration(spec.latencyFloor),
    maxReplicationLagMs: parseDuration(spec.maxReplicationLag),
    maxSourceLoad: 'activeBackends' in load ? load.activeBackends : load.max,
    criticalSourceLoad: load.critical ?? null,
    chunkTargetMs: parseDuration(spec.chunkTargetTime),
    minChunkRows: Math.min(MIN_CHUNK_ROWS, chunkRows),
    maxChunkRows: chunkRows,
    niceRatio: spec.niceRatio,
    rebaselineAfterMs: parseDuration(spec.rebaselineAfter),
  };
  return { limits, maxPauseMs: parseDuration(spec.maxPause), checkIntervalMs: parseDuration(spec.checkInterval) };
}
