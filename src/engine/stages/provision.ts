import type { Migration } from '../../plan/schema.js';
import type { Stage } from '../types.js';
import { notImplementedStep } from './not-implemented.js';

/** Creates the target's workloads and waits until they are ready (receiving no traffic yet). */
export function provisionStage(plan: Migration): Stage {
  const target = plan.spec.target.platform;
  if (target.kind === 'kubernetes') {
    return {
      name: 'provision',
      steps: [notImplementedStep('apply-workloads', 'provisioning Kubernetes workloads', 'kubernetes')],
    };
  }
  if ((plan.spec.workloads?.processes?.length ?? 0) === 0) {
    return { name: 'provision', skip: 'the target is a local site with no processes', steps: [] };
  }
  return {
    name: 'provision',
    steps: [notImplementedStep('start-processes', 'starting local processes', 'local')],
  };
}
