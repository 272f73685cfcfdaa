import type { Migration } from '../../plan/schema.js';
import type { Stage, StageDeps } from '../stage.js';
import { platformContext, runtimeOf } from './support.js';

/** Creates the target's workloads and waits until they are ready (receiving no traffic yet). */
export function provisionStage(plan: Migration, deps: StageDeps): Stage {
  const target = plan.spec.target.platform;
  if (target.kind === 'local' && (plan.spec.workloads?.processes?.length ?? 0) === 0) {
    return { name: 'provision', skip: 'the target is a local site with no processes', steps: [] };
  }
  return {
    name: 'provision',
    steps: [
      {
        name: 'start-target-workloads',
        async run(ctx) {
          return runtimeOf(deps).platform(ctx, 'target').provision(platformContext(ctx));
        },
        async undo(ctx) {
          await runtimeOf(deps).platform(ctx, 'target').teardown(platformContext(ctx));
        },
      },
    ],
  };
}
