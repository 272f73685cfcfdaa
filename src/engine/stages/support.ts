/** What the real stages share: the runtime and its adapters, platform contexts, and the report's events. */
import type { DataPlane } from '../../data/data-plane.js';
import type { PlatformContext } from '../../platforms/platform.js';
import type { Migration } from '../../plan/schema.js';
import type { Runtime } from '../runtime.js';
import type { StepContext } from '../step.js';
import type { StageDeps } from '../stage.js';

// The events the report reads (traffic-weights, traffic-sample, cutover-measured, ...) are declared there.
import '../../report/events.js';

export function runtimeOf(deps: StageDeps): Runtime {
  return deps.runtime;
}

/** The run's data plane, from the runtime (made without I/O, so stages ask for it while being built). */
export function dataPlaneOf(plan: Migration, deps: StageDeps): DataPlane {
  return runtimeOf(deps).dataPlane(plan);
}

export function platformContext(ctx: StepContext): PlatformContext {
  return { runId: ctx.runId, logger: ctx.logger, signal: ctx.signal };
}
