/**
 * Finalize (the point of no return, after bake): let reverse replication drain into the source (the
 * way back until now, so it is a complete copy), stop replication in both directions, drop slots,
 * publications, subscriptions, dirty tracking, markers and fence records. The target's fence (if any)
 * is lifted; the source stays fenced unless `keepSourceFenced: false` — the old database must not take
 * writes nobody will ever read — and the exact grants to restore are returned for the audit trail.
 */
import { messageOf } from '../../common/errors.js';
import { stepPrefix } from './names.js';
import type { Step } from '../data-plane.js';
import { removeDirtyTracking } from './dirty.js';
import { unfenceSite } from './fence.js';
import { dropScaffold } from './scaffold.js';
import { withSite, withSites, type PgEnv } from './session.js';
import { dropPublication } from './subscription.js';
import { stopForward } from './replicate-steps.js';
import { catchUp, stopReverse } from './switch.js';

/**
 * The source is the way back until now: let it receive the target's last writes before reverse
 * replication stops, so it is a complete copy at the point of no return. Bounded; a reverse that
 * cannot drain is recorded and finalize goes on (undoing a finalize would not help). Its own sessions
 * (`drainEnv`), closed when it ends.
 */
export function drainReverseStep(drainEnv: PgEnv): Step {
  const database = drainEnv.entry.database;
  return {
    // Named before the data plane owned it; step names are part of a run's durable record.
    name: `drain-reverse-${database}`,
    async run(ctx) {
      try {
        if (ctx.state.get<number>(drainEnv.key('reverse-oid')) === undefined)
          return { drained: false, reason: 'no reverse replication' };
        const { waitedMs } = await catchUp(ctx, drainEnv, 'target', 15_000);
        return { drained: true, waitedMs };
      } catch (error) {
        ctx.logger.warn('reverse replication did not drain before finalize; the source may miss the last writes', {
          database,
          error: messageOf(error),
        });
        return { drained: false, reason: messageOf(error) };
      } finally {
        await drainEnv.pool.close();
      }
    },
  };
}

export function finalizeSteps(env: PgEnv): Step[] {
  const db = env.entry.database;
  const prefix = stepPrefix(db);
  return [
    {
      name: `${prefix}drop-reverse`,
      async run(ctx) {
        await stopReverse(ctx, env);
        return { dropped: env.names(ctx).reverse };
      },
    },
    {
      name: `${prefix}drop-forward`,
      async run(ctx) {
        await stopForward(ctx, env);
        await withSite(ctx, env, 'source', (source) => dropPublication(source, env.names(ctx).forward));
        return { dropped: env.names(ctx).forward };
      },
    },
    {
      name: `${prefix}drop-dirty-tracking`,
      async run(ctx) {
        await withSite(ctx, env, 'target', (target) => removeDirtyTracking(target, env.names(ctx)));
        return {};
      },
    },
    {
      name: `${prefix}release-fences`,
      async run(ctx) {
        return withSites(ctx, env, async ({ source, target }) => {
          const names = env.names(ctx);
          const lifted = await unfenceSite(target, names, 'target');
          const key = env.key('finalize.source-fence');
          let kept: unknown = ctx.state.get<unknown>(key) ?? null;
          if (env.options.keepSourceFenced) {
            const exists = await source.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [
              names.fence,
            ]);
            if (exists.rows[0]?.ok) {
              const r = await source.query<{ record: unknown }>(
                `select record from ${names.fence} where site = 'source'`,
              );
              if (r.rows[0]) {
                kept = r.rows[0].record;
                ctx.state.set(key, kept); // before the row is deleted: the audit keeps what to grant back
                await source.query(`delete from ${names.fence} where site = 'source'`);
              }
            }
            return { targetUnfenced: lifted !== null, sourceFenced: kept !== null, sourceFence: kept };
          }
          const released = await unfenceSite(source, names, 'source');
          return { targetUnfenced: lifted !== null, sourceFenced: false, sourceUnfenced: released !== null };
        });
      },
    },
    {
      name: `${prefix}drop-scaffold`,
      async run(ctx) {
        await withSites(ctx, env, async ({ source, target }) => {
          await dropScaffold(source, env.names(ctx));
          await dropScaffold(target, env.names(ctx));
        });
        return {};
      },
    },
  ];
}
