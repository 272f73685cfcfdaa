/**
 * The cutover stage for one `spec.data[]` entry, in the phases the router's hold goes around.
 * Before the hold: lag check (abort before anything changes when replication is behind) → prepare
 * reverse replication. Under the hold: fence the source → wait for the marker → disable forward
 * replication → sync sequences → re-check dirty keys (and stop recording them) → start reverse replication → open the target.
 * After the release: drop forward replication. Each step is bounded. Undo before the target opens
 * restores the source exactly; undo after it opens first fences the target again and brings its
 * writes back to the source.
 */
import { CheckFailedError } from '../../common/errors.js';
import { stepPrefix } from './names.js';
import type { CutoverPhases, Step } from '../data-plane.js';
import { dirtyKeys, pauseDirtyTracking, resumeDirtyTracking } from './dirty.js';
import { parseTableName } from './connect.js';
import { startForward, stopForward } from './replicate-steps.js';
import { freshHoldCatalog, withSite, withSites, type PgEnv } from './session.js';
import { setSubscriptionEnabled, subscriptionExists } from './subscription.js';
import {
  catchUp,
  fenceWriter,
  openWriter,
  prepareReverse,
  REVERSE_STARTED_EARLY,
  startReverse,
  stopReverse,
  syncFrom,
} from './switch.js';
import type { DirtyDifference } from './options.js';
import { recheckTables } from './verify/recheck-keys.js';

export function cutoverSteps(env: PgEnv): CutoverPhases {
  const db = env.entry.database;
  const prefix = stepPrefix(db);
  const fencedKey = env.key('cutover.fenced-at');
  const beforeHold: Step[] = [
    {
      name: `${prefix}lag-check`,
      async run(ctx) {
        // Nothing is fenced yet: if the target cannot catch up quickly now, it will not under a fence either.
        return catchUp(ctx, env, 'source', env.options.maxLagToStartMs);
      },
    },
    {
      name: `${prefix}prepare-reverse`,
      run: (ctx) => prepareReverse(ctx, env),
      undo: (ctx) => stopReverse(ctx, env),
    },
  ];
  const underHold: Step[] = [
    {
      name: `${prefix}fence-source`,
      run: (ctx) => fenceWriter(ctx, env, 'source', fencedKey),
      async undo(ctx) {
        await openWriter(ctx, env, 'source', fencedKey);
      },
    },
    {
      name: `${prefix}drain-to-target`,
      run: (ctx) => catchUp(ctx, env, 'source'),
    },
    {
      // Disabled inside the fence (a catalog update); dropped, with its slot, after the target opens.
      name: `${prefix}retire-forward`,
      async run(ctx) {
        await withSite(ctx, env, 'target', (target) => setSubscriptionEnabled(target, env.names(ctx).forward, false));
        return { disabled: env.names(ctx).forward };
      },
      async undo(ctx) {
        // Runs after reverse replication was stopped (undo goes backwards), so nothing can loop.
        const exists = await withSite(ctx, env, 'target', (target) =>
          subscriptionExists(target, env.names(ctx).forward),
        );
        if (exists)
          await withSite(ctx, env, 'target', (target) => setSubscriptionEnabled(target, env.names(ctx).forward, true));
        else await startForward(ctx, env, false);
      },
    },
    {
      name: `${prefix}sync-sequences`,
      async run(ctx) {
        const prepared = freshHoldCatalog(ctx, env);
        return {
          ...(await syncFrom(ctx, env, 'source', prepared?.sequences)),
          catalog: prepared ? 'read before the hold' : 'read under the hold',
        };
      },
    },
    {
      name: `${prefix}recheck-dirty`,
      async run(ctx) {
        return withSites(ctx, env, async ({ source, target }) => {
          const started = Date.now();
          const names = env.names(ctx);
          const dirty = await dirtyKeys(target, names);
          let keys = 0;
          for (const [, list] of dirty.tables) keys += list === 'all' ? 0 : list.length;
          const prepared = freshHoldCatalog(ctx, env);
          const rechecked = await recheckTables({
            source,
            target,
            catalog: prepared?.recheck,
            tables: [...dirty.tables].map(([table, list]) => ({
              table: parseTableName(table, 'dirty table'),
              keys: list,
            })),
          });
          const differences: DirtyDifference[] = rechecked.filter(
            (diff) => diff.missing.length + diff.extra.length + diff.changed.length > 0,
          );
          const elapsedMs = Date.now() - started;
          ctx.events.emit('pg-dirty-rechecked', {
            database: db,
            tables: dirty.tables.size,
            keys,
            differences: differences.length,
            elapsedMs,
          });
          if (differences.length > 0) {
            const sample = differences
              .map(
                (d) => `${d.table}: ${d.missing.length} missing, ${d.extra.length} extra, ${d.changed.length} changed`,
              )
              .join('; ');
            throw new CheckFailedError(
              `the target differs from the fenced source in rows changed since the last clean verification (${sample}); cutover stops before the target opens`,
              {
                details: { differences },
              },
            );
          }
          // Nothing reads the keys after this check: the target forgets the ones it proved equal and
          // stops recording before it opens (one round trip), so the service's writes on it do not
          // pay for the recording during the bake.
          await pauseDirtyTracking(target, names, { clearThrough: dirty.watermark });
          return {
            tables: dirty.tables.size,
            keys,
            elapsedMs,
            tracking: 'paused',
            catalog: prepared ? 'read before the hold' : 'read under the hold',
          };
        });
      },
      undo: (ctx) => withSite(ctx, env, 'target', (target) => resumeDirtyTracking(target, env.names(ctx))),
    },
    {
      name: `${prefix}start-reverse`,
      async run(ctx) {
        const names = { publication: env.names(ctx).reverse, subscription: env.names(ctx).reverse };
        // Started before the hold (a PostgreSQL 16+ source): nothing to do under it. Ensuring it again
        // would set the publication's tables again, a catalog change on the target just before it opens.
        if (ctx.state.get<boolean>(env.key(REVERSE_STARTED_EARLY)) === true)
          return { ...names, started: 'before the hold' };
        await startReverse(ctx, env);
        return { ...names, started: 'under the hold' };
      },
      undo: (ctx) => stopReverse(ctx, env),
    },
    {
      name: `${prefix}open-target`,
      run: (ctx) => openWriter(ctx, env, 'target', fencedKey),
      async undo(ctx) {
        // The target may have taken writes: fence it, let reverse replication deliver them, and
        // give the source the target's sequences, before the earlier undos take reverse replication away.
        await fenceWriter(ctx, env, 'target', env.key('cutover.undo.fenced-at'));
        await catchUp(ctx, env, 'target');
        await syncFrom(ctx, env, 'target');
      },
    },
  ];
  const afterHold: Step[] = [
    {
      // Outside the write pause: the retired forward subscription and its slot (which would hold the
      // source's WAL through the bake). No undo: re-creating it here could loop changes back; undoing
      // retire-forward re-creates it once reverse replication is gone.
      name: `${prefix}drop-retired-forward`,
      async run(ctx) {
        await stopForward(ctx, env);
        return { dropped: env.names(ctx).forward };
      },
    },
  ];
  return { beforeHold, underHold, afterHold };
}
