import type { Migration } from '../../plan/schema.js';
import type { Stage, StageDeps } from '../stage.js';
import { dataPlaneOf } from './support.js';

const NO_DATA = 'the plan has no data section';

/**
 * Starts logical replication source → target for every `spec.data[]` database (the target fenced
 * against application writes meanwhile) and waits for the initial copy and a heartbeat marker.
 */
export function replicateStage(plan: Migration, deps: StageDeps): Stage {
  if (plan.spec.data.length === 0) return { name: 'replicate', skip: NO_DATA, steps: [] };
  const data = dataPlaneOf(plan, deps);
  return { name: 'replicate', steps: plan.spec.data.flatMap((entry) => data.replicationSteps(entry)) };
}

/** Row counts, schema and chunked checksums of every replicated table, re-checked after the marker. */
export function verifyStage(plan: Migration, deps: StageDeps): Stage {
  if (plan.spec.data.length === 0) return { name: 'verify', skip: NO_DATA, steps: [] };
  const data = dataPlaneOf(plan, deps);
  return { name: 'verify', steps: plan.spec.data.flatMap((entry) => data.verificationSteps(entry)) };
}
