/** What the real stages share: the runtime, platform contexts, and the report's events. */
import { InternalError } from '../../common/errors.js';
import type { PlatformContext } from '../../platforms/platform.js';
import type { Runtime } from '../runtime.js';
import type { StepContext } from '../step.js';
import type { StageDeps } from '../stage.js';

// The events the report reads (traffic-weights, traffic-sample, cutover-measured, ...) are declared there.
import '../../report/events.js';

export function runtimeOf(deps: StageDeps): Runtime {
  if (!deps.runtime) throw new InternalError('this step needs the run time adapters, and the engine gave none');
  return deps.runtime;
}

export function platformContext(ctx: StepContext): PlatformContext {
  return { runId: ctx.runId, logger: ctx.logger, signal: ctx.signal };
}
