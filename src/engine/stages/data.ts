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
import type { PostgresDataPlaneOptions } from '../../data/postgres/options.js';
import { catchUp } from '../../data/postgres/switch.js';
import { recheckKeys } from '../../data/postgres/verify/recheck-keys.js';
import { emitVerifyEvents, verifyTables } from '../../data/postgres/verify/index.js';
import { parseDuration } from '../../common/duration.js';
import { CheckFailedError } from '../../common/errors.js';
import type { DataSpec, Migration } from '../../plan/schema.js';
import type { Step, StepContext } from '../types.js';

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
