/**
 * The PostgreSQL data plane: native logical replication with heartbeat markers, fences, sequence
 * sync, dirty tracking, reverse replication and failback. See docs/postgres.md.
 */
import type { DataSpec } from '../../plan/schema.js';
import type { DataPlane } from '../data-plane.js';
import { parseTablePattern } from './catalog.js';
import { provisionAccessStep } from './access-provision.js';
import { cutoverSteps } from './cutover-steps.js';
import { CUT_COPY_MAX_MS } from './replicate-steps.js';
import { failbackSteps } from './failback-steps.js';
import { drainReverseStep, finalizeSteps } from './finalize-steps.js';
import { objectNames } from './names.js';
import type { PostgresDataPlaneOptions } from './options.js';
import { runPreflight } from './preflight.js';
import { replicationSteps } from './replicate-steps.js';
import { createSessionPool, type PgEnv } from './session.js';
import { rotateCredentialsStep } from './rotate-credentials.js';
import { settleDirtyStep } from './settle-dirty.js';
import { catchUp } from './switch.js';
import { verificationStep } from './verify-step.js';
// The report's event shapes (replication-lag).
import '../../report/events.js';

export function resolveOptions(options: PostgresDataPlaneOptions): PgEnv['options'] {
  return {
    copyTimeoutMs: options.copyTimeoutMs ?? 3_600_000,
    cutCopyMaxMs: options.cutCopyMaxMs ?? CUT_COPY_MAX_MS,
    markerTimeoutMs: options.markerTimeoutMs ?? 60_000,
    maxLagToStartMs: options.maxLagToStartMs ?? 5_000,
    fenceDrainMs: options.fenceDrainMs ?? 5_000,
    statementTimeoutMs: options.statementTimeoutMs ?? 60_000,
    pollMs: options.pollMs ?? 50,
    keepSourceFenced: options.keepSourceFenced ?? true,
    reestablishForward: options.reestablishForward ?? true,
    ...(options.subscriptionConnection ? { subscriptionConnection: options.subscriptionConnection } : {}),
  };
}

export function pgEnv(entry: DataSpec, options: PostgresDataPlaneOptions): PgEnv {
  return {
    entry,
    options: resolveOptions(options),
    names: (ctx) => objectNames(ctx.runId, entry.database),
    key: (what) => `pg.${entry.database}.${what}`,
    pool: createSessionPool(),
    holdCatalog: { current: null },
  };
}

export function createPostgresDataPlane(options: PostgresDataPlaneOptions = {}): DataPlane {
  return {
    async preflight(input) {
      const report = await runPreflight({
        sourceUrl: input.sourceUrl,
        targetUrl: input.targetUrl,
        tables: input.entry.tables.map((t) => parseTablePattern(t, 'spec.data[].tables')),
        preSeeded: input.entry.preSeeded,
        database: input.entry.database,
        ...(input.redactor ? { redactor: input.redactor } : {}),
      });
      if (report.inputError) throw report.inputError;
      return { ok: report.ok, findings: report.findings, estimate: report.estimate };
    },
    replicationSteps(entry) {
      // Access first: the target's fence then records (and its undo restores) the grants provision made.
      const env = pgEnv(entry, options);
      return [provisionAccessStep(env), ...replicationSteps(env)];
    },
    // Long passes and re-checks get sessions of their own (an env each), closed when they end.
    verificationSteps: (entry) => [verificationStep(pgEnv(entry, options))],
    cutoverSteps(entry) {
      // One env for the whole cutover: settling ends with a warm session per site, so the fenced
      // steps under the hold start without connecting (and authenticating) first.
      const env = pgEnv(entry, options);
      const phases = cutoverSteps(env);
      return { ...phases, beforeHold: [...phases.beforeHold, settleDirtyStep(env)] };
    },
    failbackSteps: (entry) => failbackSteps(pgEnv(entry, options)),
    credentialRotationSteps: (entry) => [rotateCredentialsStep(pgEnv(entry, options))],
    finalizeSteps: (entry) => [drainReverseStep(pgEnv(entry, options)), ...finalizeSteps(pgEnv(entry, options))],
    async lag(ctx, entry, timeoutMs) {
      const env = pgEnv(entry, options);
      try {
        const { waitedMs } = await catchUp(ctx, env, 'source', timeoutMs);
        ctx.events.emit('replication-lag', { database: entry.database, lagMs: waitedMs }, { subject: entry.database });
        return waitedMs;
      } finally {
        await env.pool.close();
      }
    },
  };
}
