/**
 * The verify stage's step for one database: counts and chunked checksums of every planned table while
 * replication runs, mismatches re-checked after a heartbeat marker arrives, so only lasting differences
 * count. A clean pass forgets the dirty keys recorded up to its start, so cutover re-checks only what
 * changed since.
 */
import type pg from 'pg';
import { CheckFailedError } from '../../common/errors.js';
import type { Step, StepContext } from '../data-plane.js';
import { parseTablePattern, resolveTables } from './catalog.js';
import { connect } from './connect.js';
import { clearDirty, dirtyKeys } from './dirty.js';
import type { PgEnv } from './session.js';
import { catchUp } from './switch.js';
import { emitVerifyEvents, verifyTables } from './verify/index.js';
import type { VerifyProgress } from './verify/types.js';
import { liveVerdict } from './verify/verdict.js';
import { withStepPacer } from '../throttle/step-pacer.js';
// The report's event shapes (verification-result).
import '../../report/events.js';
import './events.js';

/** Two sessions of their own (not the cutover's pool): a verification pass runs long. */
export async function withOwnSessions<T>(
  ctx: StepContext,
  env: PgEnv,
  applicationName: string,
  fn: (source: pg.Client, target: pg.Client) => Promise<T>,
): Promise<T> {
  const database = env.entry.database;
  const open = (site: 'source' | 'target') =>
    connect(ctx.secrets.databaseUrl(site, database), {
      name: `${site} database ${database}`,
      redactor: ctx.redactor,
      applicationName,
      // Key lookups and small ranges (the settling re-checks before the cutover's hold).
      serial: true,
    });
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

/** At most one `pg-verify-progress` event per table this often (each is an audit record), plus each table's last. */
export const VERIFY_PROGRESS_EVERY_MS = 500;

function progressEmitter(ctx: StepContext, database: string): (progress: VerifyProgress) => void {
  const last = new Map<string, number>();
  return (progress) => {
    const now = Date.now();
    const finished = progress.chunksDone >= progress.chunksTotal;
    if (!finished && now - (last.get(progress.table) ?? 0) < VERIFY_PROGRESS_EVERY_MS) return;
    last.set(progress.table, now);
    ctx.events.emit('pg-verify-progress', { database, ...progress }, { subject: progress.table });
  };
}

export function verificationStep(env: PgEnv): Step {
  const entry = env.entry;
  return {
    name: `verify-${entry.database}`,
    async run(ctx) {
      try {
        return await withOwnSessions(ctx, env, 'handoff-verify', async (source, target) => {
          const names = env.names(ctx);
          const { watermark } = await dirtyKeys(target, names);
          const resolved = await resolveTables(
            source,
            entry.tables.map((t) => parseTablePattern(t, `spec.data[${entry.database}].tables`)),
          );
          // Paced by spec.data[].throttle: chunks wait while the service is over its budget.
          const report = await withStepPacer(ctx, env, { work: 'verify', lag: true }, (pacer) =>
            verifyTables({
              source: ctx.secrets.databaseUrl('source', entry.database),
              target: ctx.secrets.databaseUrl('target', entry.database),
              tables: resolved.tables.map((r) => r.table),
              chunkRows: entry.verify.chunkRows,
              signal: ctx.signal,
              redactor: ctx.redactor,
              ...(pacer ? { pacer } : {}),
              onProgress: progressEmitter(ctx, entry.database),
              recheck: async () => {
                await catchUp(ctx, env, 'source');
              },
            }),
          );
          emitVerifyEvents(ctx.events, report);
          const verdict = liveVerdict(report);
          ctx.events.emit(
            'verification-result',
            {
              database: entry.database,
              identical: verdict.identical,
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
          if (!verdict.identical) {
            const bad = verdict.diverged.map(
              (t) => `${t.table} (${t.missing.length} missing, ${t.extra.length} extra, ${t.changed.length} changed)`,
            );
            const schema = report.schemaDifferences.map((d) => d.message);
            throw new CheckFailedError(
              `database ${entry.database} differs between the sites after replication caught up: ${[...bad, ...schema].join('; ')}`,
            );
          }
          for (const t of verdict.moving) {
            ctx.logger.info(
              `${t.table}: ${t.mismatchedChunks} chunk(s) were written during the pass (no differing row on a closer look); the cutover re-checks those rows under the fence`,
              { table: t.table },
            );
          }
          const cleared = await clearDirty(target, names, watermark);
          return {
            identical: true,
            rowsCompared: report.rowsCompared,
            tables: report.tables.length,
            elapsedMs: report.elapsedMs,
            dirtyCleared: cleared,
          };
        });
      } finally {
        await env.pool.close();
      }
    },
  };
}
