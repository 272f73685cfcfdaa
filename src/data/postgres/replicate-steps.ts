/**
 * The replicate stage for one `spec.data[]` entry, as idempotent engine steps:
 * prepare (handoff's tables on both sides) → fence the target → defer the target's secondary
 * indexes → publication → subscription → initial copy → the copy's backlog applied, paced, then the
 * indexes built → vacuum → heartbeat catch-up → dirty tracking. Undo, in reverse, removes all of it
 * (and builds any index still deferred).
 *
 * Dirty tracking comes after the catch-up: the changes made on the source during the copy (the
 * slot's backlog, tens of thousands of transactions after a long copy) are applied without a
 * trigger per row, and no verification has compared anything yet, so nothing needs their keys. The
 * recording starts before verification does, which is what the re-checks rely on.
 */
import type pg from 'pg';
import { AdapterError, TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import { stepPrefix } from './names.js';
import type { Step, StepContext } from '../data-plane.js';
import { formatTable, quoteTable } from './connect.js';
import { installDirtyTracking, removeDirtyTracking } from './dirty.js';
import { fenceSite, unfenceSite } from './fence.js';
import { awaitMarker, writeMarker } from './marker.js';
import { createScaffold, dropScaffold } from './scaffold.js';
import {
  buildDeferred,
  deferrableIndexes,
  describeIndex,
  dropDeferred,
  indexKey,
  type DeferredIndex,
} from './deferred-indexes.js';
import { planTables, rememberedTables, withSite, withSites, type PgEnv } from './session.js';
import { withStepPacer } from '../throttle/step-pacer.js';
import { catchUpAfterCopy } from './copy/catch-up.js';
import { COPY_CHUNK_TARGET_MS, COPY_MAX_CHUNK_ROWS, runChunkedCopy } from './copy/chunked-copy.js';
import type { Pacer } from '../throttle/pacer.js';
import {
  dropPublication,
  dropSubscription,
  ensurePublication,
  ensureSubscription,
  setSubscriptionEnabled,
  subscriptionProgress,
  type SubscriptionProgress,
} from './subscription.js';
import { dropRunRole, runRoleConninfo } from './replication-connect.js';
import './events.js';

/** Creates the forward subscription (target ← source). Shared by replicate, cutover undo and failback. */
export async function startForward(ctx: StepContext, env: PgEnv, copyData: boolean): Promise<number> {
  return withSites(ctx, env, async ({ source, target }) => {
    const names = env.names(ctx);
    const tables = await planTables(ctx, env, source);
    await ensurePublication(source, names.forward, tables, names.marker);
    const { oid, created } = await ensureSubscription(target, source, {
      name: names.forward,
      publication: names.forward,
      conninfo: runRoleConninfo(ctx, env, source, 'forward', tables),
      copyData,
      originNone: false,
    });
    ctx.state.set(env.key('forward-oid'), oid);
    if (created)
      ctx.events.emit('pg-replication-changed', {
        database: env.entry.database,
        what: 'subscription',
        name: names.forward,
        action: 'created',
      });
    return oid;
  });
}

export async function stopForward(ctx: StepContext, env: PgEnv): Promise<void> {
  await withSites(ctx, env, async ({ source, target }) => {
    await dropSubscription(target, source, env.names(ctx).forward, ctx.state.get<number>(env.key('forward-oid')));
    await dropRunRole(ctx, env, source, 'forward');
  });
}

/** New sync/apply errors seen while waiting before the copy is declared failing (PostgreSQL retries every few seconds). */
const FAILING_COPY_ERRORS = 5;

/**
 * A table copy running longer than this (the default of `cutCopyMaxMs`) is not cut by a throttle pause: native table sync starts a
 * cut copy again from its first row, so pausing a long copy (a large table) would throw its work
 * away each time, and a table larger than the gaps between pauses would never finish (seen at 10 M
 * rows: the orders copy restarted 15 times in 7 minutes).
 */
export const CUT_COPY_MAX_MS = 10_000;

/**
 * Waits for the initial copy. Paced by the throttle: native table sync cannot pause between chunks,
 * so a pause disables the subscription (its sync and apply workers stop at once, so the load goes
 * away) and resuming enables it again; a table whose copy was cut off starts its copy again. So a
 * copy that has run for CUT_COPY_MAX_MS is let finish, unpaced (`pg-copy-unpausable`, once per
 * table), and pacing resumes after it. Time spent paused does not count against the copy's bound.
 */
async function waitForCopy(ctx: StepContext, env: PgEnv, pacer: Pacer | undefined): Promise<SubscriptionProgress> {
  return withSite(ctx, env, 'target', async (target) => {
    const started = Date.now();
    let last = '';
    let lastRows = '';
    let lastAt = 0;
    let baseline: number | null = null;
    const name = env.names(ctx).forward;
    // A run held during a pause left the subscription disabled: the copy goes on from here.
    if (pacer) await setSubscriptionEnabled(target, name, true);
    await pacer?.start();
    // When each table's current copy began (seen in state d), to tell a young copy from a long one.
    const copyingSince = new Map<string, number>();
    const unpausable = new Set<string>();
    const hooks = {
      paused: async () => {
        await setSubscriptionEnabled(target, name, false);
        copyingSince.clear(); // every copy cut here starts again
      },
      resumed: () => setSubscriptionEnabled(target, name, true),
    };
    for (;;) {
      const now = Date.now();
      const long = [...copyingSince].filter(([, since]) => now - since >= env.options.cutCopyMaxMs);
      if (long.length === 0) await pacer?.ready(ctx.signal, hooks);
      for (const [table, since] of long) {
        if (unpausable.has(table)) continue;
        unpausable.add(table);
        ctx.events.emit(
          'pg-copy-unpausable',
          { database: env.entry.database, table, copyingMs: now - since, cutCopyMaxMs: env.options.cutCopyMaxMs },
          { subject: env.entry.database },
        );
      }
      const progress = await subscriptionProgress(target, env.names(ctx).forward);
      for (const t of progress.tables) {
        if (t.state !== 'd') copyingSince.delete(t.table);
        else if (!copyingSince.has(t.table)) copyingSince.set(t.table, Date.now());
      }
      const errors = progress.syncErrors + progress.applyErrors;
      baseline ??= errors;
      if (errors - baseline >= FAILING_COPY_ERRORS) {
        throw new AdapterError(
          `the initial copy keeps failing on the target (${progress.syncErrors} table-sync and ${progress.applyErrors} apply errors so far); ` +
            'see the target server log; usual causes: rows already on the target (duplicate keys), a column or type mismatch, missing privileges',
          { retryable: true },
        );
      }
      const summary = JSON.stringify(progress.tables.map((t) => [t.table, t.state]));
      // A state change at once; rows copied meanwhile at most once a second (live views show the rate).
      const rows = JSON.stringify(progress.tables.map((t) => t.rowsCopied));
      const moved = rows !== lastRows && Date.now() - lastAt >= 1000;
      if (summary !== last || progress.ready || moved) {
        ctx.events.emit(
          'pg-copy-progress',
          { database: env.entry.database, tables: progress.tables, ready: progress.ready },
          { subject: env.entry.database },
        );
        last = summary;
        lastRows = rows;
        lastAt = Date.now();
      }
      if (progress.ready) return progress;
      if (Date.now() - started - (pacer?.stats().pausedMs ?? 0) > env.options.copyTimeoutMs) {
        const pending = progress.tables
          .filter((t) => t.state !== 'r' && t.state !== 's')
          .map((t) => `${t.table} (${t.state})`);
        throw new TimeoutError(
          `the initial copy did not finish within ${env.options.copyTimeoutMs} ms: ${pending.join(', ')} still copying; sync errors ${progress.syncErrors}, apply errors ${progress.applyErrors} (see the target's server log)`,
        );
      }
      await sleep(Math.max(env.options.pollMs, 200), ctx.signal);
    }
  });
}

/**
 * Runs `fn` with session settings on `client`, reset afterwards: the session goes back to the
 * site's pool, and later steps must not inherit them.
 */
async function withSettings<T>(client: pg.Client, settings: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  for (const [name, value] of Object.entries(settings))
    await client.query(`select set_config($1, $2, false)`, [name, value]);
  try {
    return await fn();
  } finally {
    for (const name of Object.keys(settings)) await client.query(`reset ${name}`).catch(() => undefined);
  }
}

/**
 * Index builds on the target: one core (parallel workers would take the second core of a small
 * machine from the service beside it) and at least 256 MB to sort in.
 */
async function maintenanceSettings(target: pg.Client): Promise<Record<string, string>> {
  const r = await target.query<{ kb: string }>(
    `select greatest(pg_size_bytes(current_setting('maintenance_work_mem')) / 1024, 262144)::text as kb`,
  );
  return { max_parallel_maintenance_workers: '0', maintenance_work_mem: `${r.rows[0]?.kb ?? 262144}kB` };
}

/** Autovacuum's pace: a 2 ms rest per 200 cost units (about 40 MB/s of pages dirtied). */
const VACUUM_SETTINGS = { vacuum_cost_delay: '2ms', vacuum_cost_limit: '200' };

/** The pacer's pauses, for a step's result. */
function pacing(pacer: Pacer | undefined): { throttlePauses: number; throttlePausedMs: number } {
  const paced = pacer?.stats();
  return { throttlePauses: paced?.pauses ?? 0, throttlePausedMs: paced?.pausedMs ?? 0 };
}

async function buildIndex(ctx: StepContext, env: PgEnv, target: pg.Client, index: DeferredIndex): Promise<boolean> {
  const started = Date.now();
  const built = await buildDeferred(target, index);
  if (built) {
    const database = env.entry.database;
    ctx.events.emit(
      'pg-index-built',
      { database, index: indexKey(index), table: formatTable(index.table), elapsedMs: Date.now() - started },
      { subject: database },
    );
  }
  return built;
}

export function replicationSteps(env: PgEnv): Step[] {
  const db = env.entry.database;
  const prefix = stepPrefix(db);
  // Handoff's own chunked copy under the slot's snapshot, unless the plan asks for native table sync.
  const chunked = !env.entry.preSeeded && (env.entry.copy?.method ?? 'snapshot-chunks') === 'snapshot-chunks';
  const deferring = !env.entry.preSeeded && (env.entry.copy?.deferIndexes ?? true);
  const vacuuming = !env.entry.preSeeded && (env.entry.copy?.vacuum ?? true);
  return [
    {
      name: `${prefix}prepare`,
      async run(ctx) {
        return withSites(ctx, env, async ({ source, target }) => {
          const tables = await planTables(ctx, env, source);
          await createScaffold(source, env.names(ctx));
          await createScaffold(target, env.names(ctx));
          return { tables: tables.map(formatTable) };
        });
      },
      async undo(ctx) {
        await withSites(ctx, env, async ({ source, target }) => {
          await dropScaffold(source, env.names(ctx));
          await dropScaffold(target, env.names(ctx));
        });
      },
    },
    {
      name: `${prefix}fence-target`,
      async run(ctx) {
        return withSites(ctx, env, async ({ source, target }) => {
          const tables = await planTables(ctx, env, source);
          const fence = await fenceSite(target, env.names(ctx), 'target', tables, {
            method: env.entry.fence?.method ?? 'revoke',
            roles: env.entry.fence?.roles,
            drainMs: env.options.fenceDrainMs,
            marker: null,
          });
          const grants = fence.record.grants.length + fence.record.roleSettings.length;
          ctx.events.emit('pg-fenced', {
            database: db,
            site: 'target',
            method: fence.record.method,
            grants,
            terminated: fence.terminated,
          });
          return {
            method: fence.record.method,
            revoked: fence.record.grants,
            roles: fence.record.roleSettings.map((s) => s.role),
          };
        });
      },
      async undo(ctx) {
        await withSite(ctx, env, 'target', async (target) => {
          const done = await unfenceSite(target, env.names(ctx), 'target');
          if (done)
            ctx.events.emit('pg-unfenced', {
              database: db,
              site: 'target',
              grants: done.record.grants.length,
              writesRefusedMs: null,
            });
        });
      },
    },
    {
      name: `${prefix}defer-indexes`,
      async run(ctx) {
        if (!deferring) return { indexes: [] };
        return withSite(ctx, env, 'target', async (target) => {
          const key = env.key('deferred-indexes');
          // A replay keeps the first attempt's record: the indexes it dropped are no longer in the catalog.
          let deferred = ctx.state.get<DeferredIndex[]>(key);
          if (!deferred) {
            deferred = await deferrableIndexes(target, rememberedTables(ctx, env));
            ctx.state.set(key, deferred);
          }
          await dropDeferred(target, deferred);
          if (deferred.length > 0)
            ctx.events.emit('pg-indexes-deferred', { database: db, indexes: deferred.map(indexKey) }, { subject: db });
          return { indexes: deferred.map(describeIndex) };
        });
      },
      async undo(ctx) {
        const deferred = ctx.state.get<DeferredIndex[]>(env.key('deferred-indexes')) ?? [];
        if (deferred.length === 0) return;
        await withSite(ctx, env, 'target', async (target) =>
          withSettings(target, await maintenanceSettings(target), async () => {
            for (const index of deferred) await buildIndex(ctx, env, target, index);
          }),
        );
      },
    },
    {
      name: `${prefix}subscribe`,
      async run(ctx) {
        if (chunked) {
          // The subscription comes after the copy, on the slot whose snapshot the copy reads.
          await withSite(ctx, env, 'source', async (source) => {
            const tables = await planTables(ctx, env, source);
            await ensurePublication(source, env.names(ctx).forward, tables, env.names(ctx).marker);
          });
          return { publication: env.names(ctx).forward, copy: 'snapshot-chunks' };
        }
        const oid = await startForward(ctx, env, !env.entry.preSeeded);
        return {
          publication: env.names(ctx).forward,
          subscription: env.names(ctx).forward,
          copyData: !env.entry.preSeeded,
          oid,
        };
      },
      async undo(ctx) {
        await stopForward(ctx, env);
        await withSite(ctx, env, 'source', (source) => dropPublication(source, env.names(ctx).forward));
      },
    },
    {
      name: `${prefix}initial-copy`,
      async run(ctx) {
        const started = Date.now();
        const chunking = chunked ? { maxChunkRows: COPY_MAX_CHUNK_ROWS, chunkTargetMs: COPY_CHUNK_TARGET_MS } : {};
        return await withStepPacer(ctx, env, { work: 'copy', lag: false, ...chunking }, async (pacer) => {
          if (chunked) {
            const copied = await runChunkedCopy(ctx, env, pacer);
            return {
              method: 'snapshot-chunks',
              tables: copied.tables.length,
              rows: copied.rows,
              chunks: copied.chunks,
              restarted: copied.restarted,
              elapsedMs: Date.now() - started,
              ...pacing(pacer),
            };
          }
          const progress = await waitForCopy(ctx, env, pacer);
          return { tables: progress.tables.length, elapsedMs: Date.now() - started, ...pacing(pacer) };
        });
      },
    },
    {
      name: `${prefix}build-indexes`,
      async run(ctx) {
        // First the chunked copy's backlog, paced: its subscription was made disabled.
        const catchUp = chunked ? { catchUp: await catchUpAfterCopy(ctx, env) } : {};
        const deferred = ctx.state.get<DeferredIndex[]>(env.key('deferred-indexes')) ?? [];
        if (deferred.length === 0) return { built: 0, ...catchUp };
        const started = Date.now();
        // Replication lag watched too: a build started beside the catch-up had both servers' work at
        // once beside the service (the clients' p50 at 100-260 ms for seconds); with table sync the
        // catch-up is the subscription's own, so the first build waits for it here.
        const built = await withStepPacer(ctx, env, { work: 'index-build', lag: true }, async (pacer) =>
          withSite(ctx, env, 'target', async (target) =>
            withSettings(target, await maintenanceSettings(target), async () => {
              await pacer?.start();
              let built = 0;
              for (const index of deferred) {
                // Each build is one statement that cannot pause: it starts only while the budget allows.
                await pacer?.ready(ctx.signal);
                if (await buildIndex(ctx, env, target, index)) built += 1;
              }
              return { built, elapsedMs: Date.now() - started, ...pacing(pacer) };
            }),
          ),
        );
        return { ...built, ...catchUp };
      },
    },
    {
      name: `${prefix}vacuum-copied`,
      async run(ctx) {
        if (!vacuuming) return { tables: 0 };
        const started = Date.now();
        return await withStepPacer(ctx, env, { work: 'vacuum', lag: false }, async (pacer) =>
          withSite(ctx, env, 'target', (target) =>
            withSettings(target, VACUUM_SETTINGS, async () => {
              await pacer?.start();
              const tables = rememberedTables(ctx, env);
              for (const table of tables) {
                await pacer?.ready(ctx.signal);
                const began = Date.now();
                await target.query(`vacuum (analyze) ${quoteTable(table)}`);
                ctx.events.emit(
                  'pg-table-vacuumed',
                  { database: db, table: formatTable(table), elapsedMs: Date.now() - began },
                  { subject: db },
                );
              }
              return { tables: tables.length, elapsedMs: Date.now() - started, ...pacing(pacer) };
            }),
          ),
        );
      },
    },
    {
      name: `${prefix}catch-up`,
      async run(ctx) {
        return withSites(ctx, env, async ({ source, target }) => {
          const names = env.names(ctx);
          const seq = await writeMarker(source, names, 'forward');
          const waitedMs = await awaitMarker(target, names, 'forward', seq, {
            timeoutMs: env.options.markerTimeoutMs,
            pollMs: env.options.pollMs,
            signal: ctx.signal,
            where: 'target',
          });
          ctx.events.emit('pg-marker-seen', { database: db, direction: 'forward', seq, waitedMs });
          return { marker: seq, lagMs: waitedMs };
        });
      },
    },
    {
      name: `${prefix}dirty-tracking`,
      async run(ctx) {
        await withSite(ctx, env, 'target', (target) =>
          installDirtyTracking(target, env.names(ctx), rememberedTables(ctx, env)),
        );
        return { tables: rememberedTables(ctx, env).length };
      },
      async undo(ctx) {
        await withSite(ctx, env, 'target', (target) => removeDirtyTracking(target, env.names(ctx)));
      },
    },
  ];
}
