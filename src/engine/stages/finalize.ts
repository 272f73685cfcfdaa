import type { Migration } from '../../plan/schema.js';
import type { Stage, StageDeps, Step } from '../types.js';
import { notImplementedStep } from './not-implemented.js';

/** The point of no return: remove scaffolding and seal the audit trail with a checkpoint. */
export function finalizeStage(plan: Migration, deps: StageDeps): Stage {
  const steps: Step[] = [];
  if (plan.spec.data.length > 0) {
    steps.push(notImplementedStep('remove-replication', 'removing PostgreSQL replication scaffolding', 'postgres'));
  }
  steps.push({
    name: 'write-checkpoint',
    run() {
      // A second checkpoint after a replay is harmless: it signs the same or a later head.
      deps.checkpoint('finalize');
      return Promise.resolve({ checkpoint: true });
    },
  });
  return { name: 'finalize', steps };
}
