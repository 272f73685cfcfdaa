/**
 * Failback after cutover: fence the target → wait until the source has every change (reverse
 * marker) → sync sequences back → disable reverse replication → re-establish forward replication (no
 * copy: both sides are equal now; its slot exists before the source opens) → open the source → drop
 * reverse replication. The target ends fenced, replicated into and recording changed keys again,
 * as before cutover, so cutover can be tried again.
 */
import { stepPrefix } from './names.js';
import type { Step } from '../data-plane.js';
import { resumeDirtyTracking } from './dirty.js';
import { startForward, stopForward } from './replicate-steps.js';
import { withSite, type PgEnv } from './session.js';
import { setSubscriptionEnabled, subscriptionExists } from './subscription.js';
import { catchUp, fenceWriter, openWriter, startReverse, stopReverse, syncFrom } from './switch.js';

export function failbackSteps(env: PgEnv): Step[] {
  const db = env.entry.database;
  const prefix = stepPrefix(db);
  const fencedKey = env.key('failback.fenced-at');
  const steps: Step[] = [
    {
      name: `${prefix}failback-fence-target`,
      run: (ctx) => fenceWriter(ctx, env, 'target', fencedKey),
      async undo(ctx) {
        await openWriter(ctx, env, 'target', fencedKey);
      },
    },
    { name: `${prefix}failback-drain-to-source`, run: (ctx) => catchUp(ctx, env, 'target') },
    { name: `${prefix}failback-sync-sequences-back`, run: (ctx) => syncFrom(ctx, env, 'target') },
    {
      // Disabled inside the fence; dropped with its slot once the source is open again.
      name: `${prefix}failback-stop-reverse`,
      async run(ctx) {
        await withSite(ctx, env, 'source', (source) => setSubscriptionEnabled(source, env.names(ctx).reverse, false));
        return { disabled: env.names(ctx).reverse };
      },
      async undo(ctx) {
        const exists = await withSite(ctx, env, 'source', (source) =>
          subscriptionExists(source, env.names(ctx).reverse),
        );
        if (exists)
          await withSite(ctx, env, 'source', (source) => setSubscriptionEnabled(source, env.names(ctx).reverse, true));
        else await startReverse(ctx, env);
      },
    },
  ];
  if (env.options.reestablishForward) {
    steps.push({
      name: `${prefix}failback-restart-forward`,
      async run(ctx) {
        // The target is a replica again: it records the keys the apply changes (paused at cutover)
        // before forward replication starts, so a later verification or cutover re-checks them.
        await withSite(ctx, env, 'target', (target) => resumeDirtyTracking(target, env.names(ctx)));
        const oid = await startForward(ctx, env, false);
        return { subscription: env.names(ctx).forward, oid };
      },
      undo: (ctx) => stopForward(ctx, env),
    });
  }
  steps.push({
    name: `${prefix}failback-open-source`,
    run: (ctx) => openWriter(ctx, env, 'source', fencedKey),
    async undo(ctx) {
      await fenceWriter(ctx, env, 'source', env.key('failback.undo.fenced-at'));
    },
  });
  steps.push({
    // After the pause: the disabled reverse subscription, its slot on the target and the publication.
    name: `${prefix}failback-drop-reverse`,
    async run(ctx) {
      await stopReverse(ctx, env);
      return { dropped: env.names(ctx).reverse };
    },
  });
  return steps;
}
