/**
 * Builds the report of one run from its state directory: the state store (run, stages, steps,
 * approvals, gate decisions) and the audit trail (every event of the run). Read-only: it opens the
 * store without creating it and changes nothing. Every text of the model passes the redactor, and
 * any password in a URL is cut out, so no secret can reach a rendered report.
 */
import { recordedCheckSchema } from '../analysis/check-result.js';
import { HandoffError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { openStore } from '../store/store.js';
import type { GateDecisionRecord } from '../store/records.js';
import { summarizeAudit } from './audit-summary.js';
import type { ReportCheck, ReportGate, ReportModel, ReportRollback, ReportStage } from './model-types.js';
import { summarizePlan } from './plan-summary.js';
import {
  approvalRecordedSchema,
  gateDecidedSchema,
  stageEventSchema,
  stageFailedSchema,
  stageReasonSchema,
} from './read-schemas.js';
import { residualRisks } from './risks.js';
import { registerUrlPasswords } from './scrub.js';
import { collectSeries } from './series.js';
import { readRunTrail, type RunTrail } from './trail-reader.js';
import { rehearsalOf } from './rehearsal-section.js';
import { shadowOf } from './shadow-section.js';

export interface BuildReportOptions {
  stateDir: string;
  runId: string;
  redactor: Redactor;
  now?: () => Date;
}

function span(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

function thresholdText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const parts: string[] = [];
  const order = ['max', 'min', 'warn', 'fail', 'minSamples'];
  const rank = (key: string): number => (order.includes(key) ? order.indexOf(key) : order.length);
  const entries = Object.entries(value).sort(([a], [b]) => rank(a) - rank(b));
  for (const [key, v] of entries) {
    if (v === undefined || v === null) continue;
    const name = key === 'warn' || key === 'fail' ? `ratio ${key}` : key === 'minSamples' ? 'min samples' : key;
    parts.push(`${name} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.length > 0 ? parts.join(', ') : null;
}

function toChecks(checks: readonly unknown[]): ReportCheck[] {
  const out: ReportCheck[] = [];
  for (const raw of checks) {
    // One check's result (analysis/check-result.ts), or a stage's own record naming it `name`.
    const parsed = recordedCheckSchema.safeParse(raw);
    if (!parsed.success) continue;
    const c = parsed.data;
    out.push({
      check: c.check,
      metric: c.metric,
      outcome: c.outcome ?? c.verdict ?? 'unknown',
      value: c.value ?? null,
      sourceValue: c.sourceValue ?? null,
      ratio: c.ratio ?? null,
      threshold: thresholdText(c.threshold),
      samples: c.samples ?? null,
      reason: c.reason ?? '',
    });
  }
  return out;
}

function stagesOf(
  trail: RunTrail,
  recorded: Array<{
    stage: string;
    state: string;
    reason: string | null;
    startedAt: string;
    finishedAt: string | null;
  }>,
): ReportStage[] {
  const started = new Map<string, string>();
  const ended = new Map<string, string>();
  const undone = new Map<string, string>();
  for (const e of trail.pick('stage-started', stageEventSchema))
    if (!started.has(e.data.stage)) started.set(e.data.stage, e.time);
  for (const e of trail.pick('stage-done', stageEventSchema)) ended.set(e.data.stage, e.time);
  const failed = new Set<string>();
  for (const e of trail.pick('stage-failed', stageFailedSchema)) {
    ended.set(e.data.stage, e.time);
    failed.add(e.data.stage);
  }
  for (const e of trail.pick('stage-skipped', stageReasonSchema)) ended.set(e.data.stage, e.time);
  for (const e of trail.pick('stage-undone', stageEventSchema)) undone.set(e.data.stage, e.time);
  return recorded.map((row) => {
    const startedAt = started.get(row.stage) ?? row.startedAt;
    const finishedAt = ended.get(row.stage) ?? (row.state === 'undone' ? null : row.finishedAt);
    return {
      name: row.stage,
      // A stage that failed and was then undone shows as failed (the note says when it was undone).
      state: row.state === 'undone' && failed.has(row.stage) ? 'failed' : row.state,
      startedAt,
      finishedAt,
      durationMs: span(startedAt, finishedAt),
      undoneAt: undone.get(row.stage) ?? (row.state === 'undone' ? row.finishedAt : null),
      reason: row.reason,
    };
  });
}

function gatesOf(trail: RunTrail, stored: GateDecisionRecord[]): ReportGate[] {
  const gates: Array<ReportGate & { late: boolean }> = stored.map((g) => ({
    late: true,
    at: g.decidedAt,
    stage: g.stage,
    outcome: g.outcome,
    reason: g.reason,
    reasons: [g.reason],
    checks: Array.isArray(g.details) ? toChecks(g.details) : [],
  }));
  // The analysis gates' own decisions as they change (hold, rollback, advance); the engine's are in the store.
  for (const e of trail.pick('gate-decided', gateDecidedSchema)) {
    if (e.actor === 'engine' && stored.length > 0) continue;
    gates.push({
      late: false,
      at: e.time,
      stage: e.data.gate,
      outcome: e.data.outcome,
      reason: e.data.reason,
      reasons: e.data.reasons ?? [e.data.reason],
      checks: toChecks(e.data.checks),
    });
  }
  // At the same instant the analysis gate's decision comes before the engine's, which acts on it.
  return gates
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || Number(a.late) - Number(b.late))
    .map(({ late: _late, ...gate }) => gate);
}

function rollbacksOf(trail: RunTrail): ReportRollback[] {
  const done = trail.pick('rollback-done', stageEventSchema);
  const undone = trail.pick('stage-undone', stageEventSchema);
  return trail.pick('rollback-started', stageReasonSchema).map((e, index, all) => {
    const next = all[index + 1]?.seq ?? Infinity;
    const end = done.find((d) => d.seq > e.seq && d.seq < next);
    const until = end?.seq ?? next;
    return {
      stage: e.data.stage,
      reason: e.data.reason,
      startedAt: e.time,
      doneAt: end?.time ?? null,
      undone: undone.filter((u) => u.seq > e.seq && u.seq < until).map((u) => u.data.stage),
    };
  });
}

/** The report of `runId`; a missing store or run is bad input (exit 2) naming it. */
export function buildReportModel(options: BuildReportOptions): ReportModel {
  const { stateDir, runId, redactor } = options;
  const store = openStore({ stateDir, create: false, readOnly: true, redactor });
  if (!store) throw new HandoffError('not-found', `there is no run ${runId}: no state store in ${stateDir}`);
  try {
    const run = store.runs.get(runId);
    if (!run)
      throw new HandoffError('not-found', `there is no run ${runId} in ${stateDir} (handoff status lists the runs)`);
    const trail = readRunTrail(stateDir, runId);
    const series = collectSeries(trail);
    const reportRun = {
      id: run.id,
      plan: run.planName,
      planHash: run.planHash,
      planFile: run.planFile,
      state: run.state,
      stage: run.stage,
      reason: run.reason,
      error: run.error,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      durationMs: span(run.startedAt, run.finishedAt),
    };
    const stages = stagesOf(trail, store.steps.stages(runId));
    const gates = gatesOf(trail, store.records.gateDecisions(runId));
    const rollbacks = rollbacksOf(trail);
    const approvals = store.requests
      .approvals(runId)
      .map((a) => ({ stage: a.stage, by: a.by, role: a.role, at: a.approvedAt }));
    // Approvals the trail has but the store does not (another state directory's copy): keep both views whole.
    for (const e of trail.pick('approval-recorded', approvalRecordedSchema)) {
      if (!approvals.some((a) => a.stage === e.data.stage && a.role === e.data.role && a.by === e.data.by)) {
        approvals.push({ stage: e.data.stage, by: e.data.by, role: e.data.role, at: e.time });
      }
    }
    const audit = summarizeAudit(stateDir, trail, store.records.auditHead(), {
      text: run.planText,
      file: run.planFile,
    });
    const risks = residualRisks({
      trail,
      run: reportRun,
      steps: store.steps.list(runId),
      verification: series.verification,
      cleanup: series.cleanup,
      audit,
    });
    const rehearsal = rehearsalOf(stateDir, runId);
    const model: ReportModel = {
      generatedAt: (options.now ?? (() => new Date()))().toISOString(),
      run: reportRun,
      moved: summarizePlan(run.planText, run.planFile),
      stages,
      ...series,
      shadow: shadowOf(trail),
      ...(rehearsal ? { rehearsal } : {}),
      gates,
      approvals,
      rollbacks,
      risks,
      audit,
    };
    registerUrlPasswords(model, redactor);
    return redactor.redactValue(model);
  } finally {
    store.close();
  }
}
