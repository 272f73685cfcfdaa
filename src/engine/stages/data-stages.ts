import type { Migration } from '../../plan/schema.js';
import type { Stage } from '../types.js';
import { notImplementedStep } from './not-implemented.js';

const NO_DATA = 'the plan has no data section';

/** Starts logical replication source → target and waits for the initial copy. */
export function replicateStage(plan: Migration): Stage {
  if (plan.spec.data.length === 0) return { name: 'replicate', skip: NO_DATA, steps: [] };
  return {
    name: 'replicate',
    steps: [notImplementedStep('start-replication', 'PostgreSQL replication', 'postgres')],
  };
}

/** Row counts, schema and chunked checksums of every replicated table. */
export function verifyStage(plan: Migration): Stage {
  if (plan.spec.data.length === 0) return { name: 'verify', skip: NO_DATA, steps: [] };
  return {
    name: 'verify',
    steps: [notImplementedStep('verify-tables', 'PostgreSQL verification', 'postgres')],
  };
}
