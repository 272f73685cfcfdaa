import type { Migration } from '../../plan/schema.js';
import type { Stage } from '../types.js';
import { notImplementedStep } from './not-implemented.js';

const NO_TRAFFIC = 'the plan has no traffic section';

/** Moves read traffic to the target step by step, each step baked and gated. */
export function shiftStage(plan: Migration): Stage {
  if (!plan.spec.traffic) return { name: 'shift', skip: NO_TRAFFIC, steps: [] };
  return { name: 'shift', steps: [notImplementedStep('shift-reads', 'shifting read traffic', 'traffic')] };
}

/** Buffers requests, fences the source, waits for the target, moves writes, releases the buffer. */
export function cutoverStage(plan: Migration): Stage {
  if (!plan.spec.traffic) return { name: 'cutover', skip: NO_TRAFFIC, steps: [] };
  return { name: 'cutover', steps: [notImplementedStep('cut-over-writes', 'write cutover', 'traffic')] };
}

/** Full traffic on the target with the gates still watching. */
export function bakeStage(plan: Migration): Stage {
  if (!plan.spec.traffic) return { name: 'bake', skip: `${NO_TRAFFIC}: nothing to bake`, steps: [] };
  return { name: 'bake', steps: [notImplementedStep('bake-on-target', 'baking on the target', 'traffic')] };
}
