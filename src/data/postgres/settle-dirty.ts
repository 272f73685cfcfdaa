/**
 * Before the cutover holds any request: re-checks the rows changed since the last clean verification
 * (after the target caught up with a marker) and forgets them once proven equal, so the check under
 * the fence covers only what changed in the last moments and the write pause stays short. A key that
 * differs because its newest change is still on its way is checked again after another marker (up to
 * three rounds); if some still differ, nothing is forgotten and the fenced check does all the work.
 * Passes repeat while they are long (up to five, a minute in all): the writes made during one pass
 * are the next one's work, so the passes shrink and the check under the fence stays small.
 * Never fails the cutover: it only saves time.
 *
 * Last, it prepares the hold: it reads the catalog facts the fenced steps need (`HoldCatalog`: the
 * sequences to sync, the re-check's table plans and hash functions) and leaves one session per site
 * open in the cutover's pool, so the steps under the hold neither read catalogs nor connect first.
 */
import type { Step } from '../data-plane.js';
import { parseTableName } from './connect.js';
import { describeSequences } from './catalog.js';
import { clearDirty, dirtyKeys } from './dirty.js';
import { readRecheckCatalog, recheckTables } from './verify/recheck-keys.js';
import { planTables, withSites, type PgEnv } from './session.js';
import { catchUp } from './switch.js';
import { withOwnSessions } from './verify-step.js';

/** Rounds of marker + re-check before giving the rest to the fenced check. */
const ROUNDS = 3;
/** A pass this short leaves little for the fenced check: stop there. */
const SHORT_PASS_MS = 300;
/** Bounds on the passes: their number and their time together. */
const MAX_PASSES = 5;
const MAX_SETTLE_MS = 60_000;

export function settleDirtyStep(env: PgEnv): Step {
  const database = env.entry.database;
  return {
    // Named before the data plane owned it; step names are part of a run's durable record.
    name: `settle-dirty-${database}`,
    async run(ctx) {
      const started = Date.now();
      try {
        return await withOwnSessions(ctx, env, 'handoff-verify', async (source, target) => {
          const names = env.names(ctx);
          let keys = 0;
          let cleared = 0;
          // Passes until one is short: the keys written during a pass are the next pass's work, so
          // the passes shrink, and what is left for the fenced check is only the last moments' writes.
          for (let pass = 1; ; pass++) {
            const passStarted = Date.now();
            const dirty = await dirtyKeys(target, names);
            let pending = [...dirty.tables.entries()];
            for (const [, list] of pending) keys += list === 'all' ? 0 : list.length;
            for (let round = 1; round <= ROUNDS && pending.length > 0; round++) {
              await catchUp(ctx, env, 'source', 5000);
              const diffs = await recheckTables({
                source,
                target,
                tables: pending.map(([table, list]) => ({ table: parseTableName(table, 'dirty table'), keys: list })),
              });
              const next: typeof pending = [];
              pending.forEach(([table, list], i) => {
                const diff = diffs[i];
                const differing = diff ? [...diff.missing, ...diff.extra, ...diff.changed] : [];
                if (diff && differing.length === 0) return;
                next.push([table, list === 'all' || !diff || diff.wholeTable ? 'all' : differing]);
              });
              pending = next;
            }
            if (pending.length > 0)
              return {
                settled: false,
                keys,
                cleared,
                passes: pass,
                stillDiffering: pending.map(([t]) => t),
                elapsedMs: Date.now() - started,
              };
            cleared += await clearDirty(target, names, dirty.watermark);
            const passMs = Date.now() - passStarted;
            if (passMs <= SHORT_PASS_MS || pass >= MAX_PASSES || Date.now() - started >= MAX_SETTLE_MS)
              return {
                settled: true,
                keys,
                cleared,
                passes: pass,
                lastPassMs: passMs,
                elapsedMs: Date.now() - started,
              };
          }
        });
      } catch (error) {
        ctx.logger.warn(
          'the pre-cutover re-check of changed rows did not finish; the check under the fence does it all',
          { database, error: String(error) },
        );
        return { settled: false, error: String(error), elapsedMs: Date.now() - started };
      } finally {
        // The hold comes next: read what the fenced steps need from the catalogs, through the
        // cutover's pool, which keeps one session per site open for them (idle ones end by
        // themselves after 2 s). A failure here costs only time: the fenced steps read it themselves.
        await withSites(ctx, env, async ({ source, target }) => {
          const tables = await planTables(ctx, env, source);
          const [sequences, recheck] = await Promise.all([
            describeSequences(source, tables),
            readRecheckCatalog(source, target, tables),
          ]);
          env.holdCatalog.current = { runId: ctx.runId, readAt: Date.now(), sequences, recheck };
        }).catch((error: unknown) => {
          env.holdCatalog.current = null;
          ctx.logger.warn('the catalog read before the cutover hold failed; the fenced steps read it themselves', {
            database,
            error: String(error),
          });
        });
      }
    },
  };
}
