/**
 * The data plane as the engine uses it: one PostgreSQL data plane per run (no I/O to make), the
 * verification step, and a replication-lag probe for the traffic stages.
 */
import type pg from 'pg';
import type { DataPlane } from '../../data/data-plane.js';
import { connect } from '../../data/postgres/connect.js';
import { createPostgresDataPlane, pgEnv } from '../../data/postgres/data-plane.js';
import { clearDirty, dirtyKeys } from '../../data/postgres/dirty.js';
import { objectNames } from '../../data/postgres/names.js';
import { parseTablePattern, resolveTables } from '../../data/postgres/catalog.js';
import { parseTableName } from '../../data/postgres/connect.js';
import type { PostgresDataPlaneOptions } from '../../data/postgres/options.js';
import { catchUp } from '../../data/postgres/switch.js';
import { recheckKeys } from '../../data/postgres/verify/recheck-keys.js';
import { emitVerifyEvents, verifyTables } from '../../data/postgres/verify/index.js';
import { parseDuration } from '../../common/duration.js';
import { CheckFailedError } from '../../common/errors.js';
import type { DataSpec, Migration } from '../../plan/schema.js';
import type { Step, StepContext } from '../step.js';

/** The data plane's options from the plan (cutover bounds from `spec.traffic.cutover`). */
export function dataPlaneOptions(plan: Migration): PostgresDataPlaneOptions {
  const cutover = plan.spec.traffic?.cutover;
  return {
    recheck: recheckKeys,
    ...(cutover ? { maxLagToStartMs: Math.max(parseDuration(cutover.maxLagToStart), 1000) } : {}),
  };
}

export function dataPlaneFor(plan: Migration): DataPlane {
  return createPostgresDataPlane(dataPlaneOptions(plan));
}

async function withSessions<T>(ctx: StepContext, entry: DataSpec, fn: (source: pg.Client, target: pg.Client) => Promise<T>): Promise<T> {
  const open = (site: 'source' | 'target') =>
    connect(ctx.secrets.databaseUrl(site, entry.database), { name: `${site} database ${entry.database}`, redactor: ctx.redactor, applicationName: 'handoff-verify' });
  const source = await open('source');
  try {
    const target = await open('target');
    try {
      return await fn(source, target);
    } finally {
      await target.end().catch(() => undefined);
    }
  } finally {
    await source.end().catch(() => undefined);
  }
}

/**
 * Verifies one database while replication runs: counts and chunked checksums of every planned table,
 * mismatches re-checked after the heartbeat marker arrives, so only lasting differences count. A clean
 * pass forgets the dirty keys recorded up to its start, so cutover re-checks only what changed since.
 */
export function verifyStep(plan: Migration, entry: DataSpec): Step {
  return {
    name: `verify-${entry.database}`,
    async run(ctx) {
      const env = pgEnv(entry, dataPlaneOptions(plan));
      try {
        return await withSessions(ctx, entry, async (source, target) => {
          const names = objectNames(ctx.runId, entry.database);
          const { watermark } = await dirtyKeys(target, names);
          const resolved = await resolveTables(source, entry.tables.map((t) => parseTablePattern(t, `spec.data[${entry.database}].tables`)));
          const report = await verifyTables({
            source: ctx.secrets.databaseUrl('source', entry.database),
            target: ctx.secrets.databaseUrl('target', entry.database),
            tables: resolved.tables.map((r) => r.table),
            chunkRows: entry.verify.chunkRows,
            signal: ctx.signal,
            redactor: ctx.redactor,
            recheck: async () => {
              await catchUp(ctx, env, 'source');
            },
          });
          emitVerifyEvents(ctx.events, report);
          ctx.events.emit(
            'verification-result',
            {
              database: entry.database,
              identical: report.identical,
              rowsCompared: report.rowsCompared,
              elapsedMs: report.elapsedMs,
              tables: report.tables.map((t) => ({
                table: t.table,
                sourceRows: t.sourceRows,
                targetRows: t.targetRows,
                mismatchedChunks: t.mismatchedChunks,
                missing: t.missing.length,
                extra: t.extra.length,
                changed: t.changed.length,
              })),
            },
            { subject: entry.database },
          );
          if (!report.identical) {
            const bad = report.tables.filter((t) => !t.identical).map((t) => `${t.table} (${t.missing.length} missing, ${t.extra.length} extra, ${t.changed.length} changed)`);
            const schema = report.schemaDifferences.map((d) => d.message);
            throw new CheckFailedError(`database ${entry.database} differs between the sites after replication caught up: ${[...bad, ...schema].join('; ')}`);
          }
          const cleared = await clearDirty(target, names, watermark);
          return { identical: true, rowsCompared: report.rowsCompared, tables: report.tables.length, elapsedMs: report.elapsedMs, dirtyCleared: cleared };
        });
      } finally {
        await env.pool.close();
      }
    },
  };
}

/** Replication lag of one database, measured with a heartbeat marker (bounded by `timeoutMs`). */
export async function measureLag(ctx: StepContext, plan: Migration, entry: DataSpec, timeoutMs: number): Promise<number> {
  const env = pgEnv(entry, dataPlaneOptions(plan));
  try {
    const { waitedMs } = await catchUp(ctx, env, 'source', timeoutMs);
    ctx.events.emit('replication-lag', { database: entry.database, lagMs: waitedMs }, { subject: entry.database });
    return waitedMs;
  } finally {
    await env.pool.close();
  }
}

/**
 * Before the cutover holds any request: re-checks the rows changed since the last clean verification
 * (after the target caught up with a marker) and forgets them once proven equal, so the check under
 * the fence covers only what changed in the last moments and the write pause stays short. A key that
 * differs because its newest change is still on its way is checked again after another marker (up to
 * three rounds); if some still differ, nothing is forgotten and the fenced check does all the work.
 * Never fails the cutover: it only saves time.
 */
export function settleDirtyStep(plan: Migration, entry: DataSpec): Step {
  return {
    name: `settle-dirty-${entry.database}`,
    async run(ctx) {
      const env = pgEnv(entry, dataPlaneOptions(plan));
      const started = Date.now();
      try {
        return await withSessions(ctx, entry, async (source, target) => {
          const names = objectNames(ctx.runId, entry.database);
          const dirty = await dirtyKeys(target, names);
          let pending = [...dirty.tables.entries()];
          let keys = 0;
          for (const [, list] of pending) keys += list === 'all' ? 0 : list.length;
          for (let round = 1; round <= 3 && pending.length > 0; round++) {
            await catchUp(ctx, env, 'source', 5000);
            const next: typeof pending = [];
            for (const [table, list] of pending) {
              const diff = await recheckKeys({ source, target, table: parseTableName(table, 'dirty table'), keys: list });
              const differing = [...diff.missing, ...diff.extra, ...diff.changed];
              if (differing.length === 0) continue;
              next.push([table, list === 'all' || diff.wholeTable ? 'all' : differing]);
            }
            pending = next;
          }
          if (pending.length > 0) return { settled: false, keys, stillDiffering: pending.map(([t]) => t), elapsedMs: Date.now() - started };
          const cleared = await clearDirty(target, names, dirty.watermark);
          return { settled: true, keys, cleared, elapsedMs: Date.now() - started };
        });
      } catch (error) {
        ctx.logger.warn('the pre-cutover re-check of changed rows did not finish; the check under the fence does it all', { database: entry.database, error: String(error) });
        return { settled: false, error: String(error), elapsedMs: Date.now() - started };
      } finally {
        await env.pool.close();
      }
    },
  };
}
