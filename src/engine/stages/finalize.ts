import type { Migration } from '../../plan/schema.js';
import type { QuiesceRecord } from '../../platforms/platform.js';
import type { Step } from '../step.js';
import type { Stage, StageDeps } from '../stage.js';
import { messageOf } from '../../common/errors.js';
import { pgEnv } from '../../data/postgres/data-plane.js';
import { catchUp } from '../../data/postgres/switch.js';
import { dataPlaneFor, dataPlaneOptions } from './data.js';
import { platformContext, runtimeOf } from './support.js';

const QUIESCED = 'finalize.source-quiesced';

/**
 * The point of no return: stop the source's workloads, remove the replication scaffolding in both
 * directions, and seal the audit trail with a checkpoint.
 */
export function finalizeStage(plan: Migration, deps: StageDeps): Stage {
  const steps: Step[] = [];
  const sourceRuns = plan.spec.source.platform.kind === 'kubernetes' || (plan.spec.workloads?.processes?.length ?? 0) > 0;
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
    const data = dataPlaneFor(plan);
    for (const entry of plan.spec.data) {
      // The source is the way back until now: let it receive the target's last writes before
      // reverse replication stops, so it is a complete copy at the point of no return. Bounded;
      // a reverse that cannot drain is recorded and finalize goes on (undoing a finalize would not help).
      steps.push({
        name: `drain-reverse-${entry.database}`,
        async run(ctx) {
          const env = pgEnv(entry, dataPlaneOptions(plan));
          try {
            if (ctx.state.get<number>(env.key('reverse-oid')) === undefined) return { drained: false, reason: 'no reverse replication' };
            const { waitedMs } = await catchUp(ctx, env, 'target', 15_000);
            return { drained: true, waitedMs };
          } catch (error) {
            ctx.logger.warn('reverse replication did not drain before finalize; the source may miss the last writes', { database: entry.database, error: messageOf(error) });
            return { drained: false, reason: messageOf(error) };
          } finally {
            await env.pool.close();
          }
        },
      });
      steps.push(...data.finalizeSteps(entry));
    }
    steps.push({
      name: 'report-cleanup',
      run(ctx) {
        const what = ctx.plan.spec.data.map((e) => `replication scaffolding of ${e.database} (publications, subscriptions, slots, markers, dirty tracking, fences)`);
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
