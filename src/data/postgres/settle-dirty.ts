/**
 * Before the cutover holds any request: re-checks the rows changed since the last clean verification
 * (after the target caught up with a marker) and forgets them once proven equal, so the check under
 * the fence covers only what changed in the last moments and the write pause stays short. A key that
 * differs because its newest change is still on its way is looked at again where lag cannot fool the
 * look (`settleTables`, up to three rounds); if some still differ, nothing is forgotten and the
 * fenced check does all the work.
 * Passes repeat while they are long (up to five, a minute in all): the writes made during one pass
 * are the next one's work, so the passes shrink and the check under the fence stays small.
 * Never fails the cutover: it only saves time.
 *
 * Last, it prepares the hold: it reads the catalog facts the fenced steps need (`HoldCatalog`: the
 * sequences to sync, the re-check's table plans and hash functions) and leaves one session per site
 * open in the cutover's pool, so the steps under the hold neither read catalogs nor connect first.
 */
import type pg from 'pg';
import { sleep } from '../../common/net.js';
import type { Step, StepContext } from '../data-plane.js';
import { formatTable, parseTableName } from './connect.js';
import { describeSequences } from './catalog.js';
import { clearDirty, dirtyKeys } from './dirty.js';
import { settleMovingKeys, type MovingKeysTable } from './verify/moving-keys.js';
import { readRecheckCatalog, recheckTables } from './verify/recheck-keys.js';
import type { SessionPool } from './verify/session-pool.js';
import { rowHashExpression } from './verify/table-plan.js';
import { planTables, withSites, type PgEnv } from './session.js';
import { catchUp } from './switch.js';
import { withOwnSessions } from './verify-step.js';

/**
 * Background work right before the cutover, so it yields: keys per statement, one site after the
 * other, and after each statement pair a rest as long as it took (at most a second). At 1,000,000
 * rows and 1,000 requests/s on a busy 2-core machine, 14,684 keys in statements of 5,000 took
 * 1,055 ms and the service's p99 in that time was 92-102 ms (its baseline 6 ms); with both sites
 * read at once, each statement pair kept both cores busy.
 */
const SETTLE_KEYS_PER_STATEMENT = 1_000;
const SETTLE_REST_RATIO = 1;
const SETTLE_REST_MAX_MS = 1_000;

/** Rounds of marker + re-check before giving the rest to the fenced check. */
const ROUNDS = 3;
/** A pass this short leaves little for the fenced check: stop there. */
const SHORT_PASS_MS = 300;
/** Bounds on the passes: their number and their time together. */
const MAX_PASSES = 5;
const MAX_SETTLE_MS = 60_000;

/**
 * One pass's re-check of the dirty keys: all of them once the target has caught up, then the keys
 * that still differ looked at where lag cannot pass for divergence (`settleMovingKeys`: source,
 * catch-up, target and source again; a source committing asynchronously sends a change only once
 * its write-ahead log is flushed, so a plain second look found the newest rows still on their way,
 * the pass never settled and the fenced check re-checked 14,382 keys in 361 ms of write pause). A
 * key the source is still rewriting is let go: it changed after this pass's watermark, so the
 * target's record takes it again when the change arrives, before the fence's marker. Tables with no
 * key to look closer with are compared whole again after another catch-up, as before. Returns the
 * tables that still differ (none: the pass proved its keys).
 */
async function settleTables(
  ctx: StepContext,
  env: PgEnv,
  source: pg.Client,
  target: pg.Client,
  entries: ReadonlyArray<readonly [string, string[][] | 'all']>,
): Promise<string[]> {
  if (entries.length === 0) return [];
  const tables = entries.map(([table, list]) => ({ table: parseTableName(table, 'dirty table'), keys: list }));
  const catalog = await readRecheckCatalog(
    source,
    target,
    tables.filter((entry) => entry.keys !== 'all').map((entry) => entry.table),
  );
  await catchUp(ctx, env, 'source', 5000);
  const diffs = await recheckTables({
    source,
    target,
    tables,
    catalog,
    pace: {
      keysPerStatement: SETTLE_KEYS_PER_STATEMENT,
      after: (ms) => sleep(Math.min(SETTLE_REST_MAX_MS, Math.round(ms * SETTLE_REST_RATIO))),
    },
  });
  const keyed: MovingKeysTable[] = [];
  let whole: typeof tables = [];
  tables.forEach((entry, i) => {
    const diff = diffs[i];
    if (diff && diff.missing.length + diff.extra.length + diff.changed.length === 0) return;
    const plan = catalog.plans.get(formatTable(entry.table));
    if (!diff || diff.wholeTable || !plan) whole.push({ table: entry.table, keys: 'all' });
    else keyed.push({ plan, hash: rowHashExpression(plan, { functions: catalog.functions }), ...diff });
  });
  const still: string[] = [];
  if (keyed.length > 0) {
    const looked = await settleMovingKeys({
      source: sessionOf(source),
      target: sessionOf(target),
      tables: keyed,
      rounds: ROUNDS - 1,
      catchUp: async () => {
        await catchUp(ctx, env, 'source', 5000);
      },
    });
    looked.forEach((result, i) => {
      if (result.missing.length + result.extra.length + result.changed.length > 0)
        still.push((keyed[i] as MovingKeysTable).plan.label);
    });
  }
  for (let round = 2; round <= ROUNDS && whole.length > 0; round++) {
    await catchUp(ctx, env, 'source', 5000);
    const again = await recheckTables({ source, target, tables: whole });
    whole = whole.filter((_, i) => {
      const diff = again[i];
      return !diff || diff.missing.length + diff.extra.length + diff.changed.length > 0;
    });
  }
  return [...still, ...whole.map((entry) => formatTable(entry.table))];
}

/** A session as the one-at-a-time pool `settleMovingKeys` reads through. */
function sessionOf(client: pg.Client): Pick<SessionPool, 'use'> {
  return { use: (fn) => fn(client) };
}

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
            const entries = [...dirty.tables.entries()];
            for (const [, list] of entries) keys += list === 'all' ? 0 : list.length;
            const differing = await settleTables(ctx, env, source, target, entries);
            if (differing.length > 0)
              return {
                settled: false,
                keys,
                cleared,
                passes: pass,
                stillDiffering: differing,
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
