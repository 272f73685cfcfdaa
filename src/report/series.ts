/**
 * The time-ordered facts of a run, taken from its audit records: traffic weights, per-site traffic
 * statistics, replication lag, the cutover's measurements, verification results and clean-up.
 * Where the report's own events (report/events.ts) are missing, it falls back to what other
 * components already record (the router's route changes, per-table verification), so a run is
 * described as fully as its trail allows.
 */
import {
  cleanupDoneSchema,
  clientTrafficSchema,
  cutoverMeasuredSchema,
  replicationLagSchema,
  trafficSampleSchema,
  trafficWeightsSchema,
  verificationResultSchema,
} from './events.js';
import type {
  LagPoint,
  ReportCleanup,
  ReportCutover,
  ReportTotals,
  ReportVerification,
  TrafficPoint,
  WeightPoint,
} from './model-types.js';
import { routesChangedSchema, tableVerifiedSchema } from './read-schemas.js';
import type { RunTrail } from './trail-reader.js';

export interface RunSeries {
  weights: WeightPoint[];
  traffic: TrafficPoint[];
  totals: ReportTotals;
  lag: LagPoint[];
  cutover: ReportCutover | null;
  verification: ReportVerification[];
  cleanup: ReportCleanup[];
}

const CLASSES = ['reads', 'writes'] as const;

function weightsOf(trail: RunTrail): WeightPoint[] {
  const own = trail.pick('traffic-weights', trafficWeightsSchema);
  if (own.length > 0)
    return own.map((e) => ({ at: e.time, reads: e.data.reads, writes: e.data.writes, reason: e.data.reason }));
  return trail.pick('router-routes-changed', routesChangedSchema).map((e) => ({
    at: e.time,
    reads: e.data.after.reads,
    writes: e.data.after.writes,
    reason: 'router routes changed',
  }));
}

function trafficOf(trail: RunTrail): { points: TrafficPoint[]; totals: ReportTotals } {
  const points: TrafficPoint[] = [];
  const bySite: ReportTotals['bySite'] = {};
  // A run sampled from its first second to its last (subject `run`, the demo's sampler) is read
  // from those samples alone: the gate windows' own samples overlap them and would count twice.
  const all = trail.pick('traffic-sample', trafficSampleSchema);
  const whole = all.filter((e) => e.subject === 'run');
  for (const e of whole.length > 0 ? whole : all) {
    for (const [site, classes] of Object.entries(e.data.sites)) {
      const total = (bySite[site] ??= { requests: 0, errors: 0 });
      for (const cls of CLASSES) {
        const sample = classes[cls];
        total.requests += sample.requests;
        total.errors += sample.errors;
        points.push({ at: e.time, site, cls, ...sample, windowMs: e.data.windowMs });
      }
    }
  }
  const sites = Object.values(bySite);
  const client = trail.pick('client-traffic', clientTrafficSchema).at(-1)?.data;
  const clients = client
    ? {
        offered: client.offered,
        sent: client.sent,
        notSent: client.notSent,
        failed: client.failed,
        routerErrors: client.routerErrors,
        notes: client.notes,
        writePauseMs: client.writePauseMs ?? null,
      }
    : null;
  return {
    points,
    totals: {
      clients,
      requests: sites.reduce((sum, s) => sum + s.requests, 0),
      failedRequests: sites.reduce((sum, s) => sum + s.errors, 0),
      bySite,
    },
  };
}

function cutoverOf(trail: RunTrail): ReportCutover | null {
  const measured = trail.pick('cutover-measured', cutoverMeasuredSchema).at(-1);
  if (!measured) return null;
  const { writePauseMs, heldRequests, failedRequests, fenceMs } = measured.data;
  return { at: measured.time, writePauseMs, heldRequests, failedRequests, fenceMs: fenceMs ?? null };
}

function verificationOf(trail: RunTrail): ReportVerification[] {
  const own = trail.pick('verification-result', verificationResultSchema);
  if (own.length > 0) {
    return own.map((e) => ({
      at: e.time,
      database: e.data.database,
      identical: e.data.identical,
      rowsCompared: e.data.rowsCompared,
      elapsedMs: e.data.elapsedMs,
      tables: e.data.tables,
    }));
  }
  // Fallback: per-table records, one verification per run of consecutive tables.
  const tables = trail.pick('pg-table-verified', tableVerifiedSchema);
  if (tables.length === 0) return [];
  const last = tables.at(-1);
  return [
    {
      at: last?.time ?? '',
      database: '(per table)',
      identical: tables.every((t) => t.data.identical),
      rowsCompared: tables.reduce((sum, t) => sum + Math.max(t.data.sourceRows, t.data.targetRows), 0),
      elapsedMs: tables.reduce((sum, t) => sum + t.data.elapsedMs, 0),
      tables: tables.map((t) => ({
        table: t.data.table,
        sourceRows: t.data.sourceRows,
        targetRows: t.data.targetRows,
        mismatchedChunks: t.data.mismatchedChunks,
        missing: t.data.missing,
        extra: t.data.extra,
        changed: t.data.changed,
      })),
    },
  ];
}

export function collectSeries(trail: RunTrail): RunSeries {
  const traffic = trafficOf(trail);
  return {
    weights: weightsOf(trail),
    traffic: traffic.points,
    totals: traffic.totals,
    lag: trail.pick('replication-lag', replicationLagSchema).map((e) => ({ at: e.time, ...e.data })),
    cutover: cutoverOf(trail),
    verification: verificationOf(trail),
    cleanup: trail.pick('cleanup-done', cleanupDoneSchema).map((e) => ({
      at: e.time,
      stage: e.subject,
      what: e.data.what,
      leftBehind: e.data.leftBehind ?? [],
    })),
  };
}
