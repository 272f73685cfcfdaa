import type { Migration } from '../../plan/schema.js';
import type { QuiesceRecord } from '../../platforms/platform.js';
import type { Step } from '../step.js';
import type { Stage, StageDeps } from '../stage.js';
import { dataPlaneOf, platformContext, runtimeOf } from './support.js';

const QUIESCED = 'finalize.source-quiesced';

/**
 * The point of no return: stop the source's workloads, let the source receive the target's last
 * writes, remove the replication scaffolding in both directions, and seal the audit trail with a
 * checkpoint.
 */
export function finalizeStage(plan: Migration, deps: StageDeps): Stage {
  const steps: Step[] = [];
  const sourceRuns =
    plan.spec.source.platform.kind === 'kubernetes' || (plan.spec.workloads?.processes?.length ?? 0) > 0;
  if (sourceRuns) {
    steps.push({
      name: 'quiesce-source',
      async run(ctx) {
        const saved = ctx.state.get<QuiesceRecord>(QUIESCED);
        if (saved) return saved;
        const record = await runtimeOf(deps).platform(ctx, 'source').quiesce(platformContext(ctx));
        ctx.state.set(QUIESCED, record);
        return record;
      },
      async undo(ctx) {
        const saved = ctx.state.get<QuiesceRecord>(QUIESCED);
        if (saved) await runtimeOf(deps).platform(ctx, 'source').unquiesce(platformContext(ctx), saved);
      },
    });
  }
  if (plan.spec.data.length > 0) {
    // The data plane's finalize starts by letting reverse replication drain into the source (bounded).
    const data = dataPlaneOf(plan, deps);
    for (const entry of plan.spec.data) steps.push(...data.finalizeSteps(entry));
    steps.push({
      name: 'report-cleanup',
      run(ctx) {
        const what = ctx.plan.spec.data.map(
          (e) =>
            `replication scaffolding of ${e.database} (publications, subscriptions, slots, markers, dirty tracking, fences)`,
        );
        if (sourceRuns) what.unshift('source workloads stopped');
        ctx.events.emit('cleanup-done', { what }, { subject: 'finalize' });
        return Promise.resolve({ what });
      },
    });
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
