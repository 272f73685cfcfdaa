import type { Migration } from '../../plan/schema.js';
import type { Step } from '../step.js';
import type { Stage } from '../stage.js';
import { dataPlaneFor, verifyStep } from './data.js';

const NO_DATA = 'the plan has no data section';

/**
 * Starts logical replication source → target for every `spec.data[]` database (the target fenced
 * against application writes meanwhile) and waits for the initial copy and a heartbeat marker.
 */
export function replicateStage(plan: Migration): Stage {
  if (plan.spec.data.length === 0) return { name: 'replicate', skip: NO_DATA, steps: [] };
  const data = dataPlaneFor(plan);
  const steps: Step[] = plan.spec.data.flatMap((entry) => data.replicationSteps(entry));
  return { name: 'replicate', steps };
}

/** Row counts, schema and chunked checksums of every replicated table, re-checked after the marker. */
export function verifyStage(plan: Migration): Stage {
  if (plan.spec.data.length === 0) return { name: 'verify', skip: NO_DATA, steps: [] };
  return { name: 'verify', steps: plan.spec.data.map((entry) => verifyStep(plan, entry)) };
}
