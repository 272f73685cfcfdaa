/**
 * `handoff status [RUN]`: the runs of a state directory, or one run with its stages, steps,
 * approvals, pending requests, lease, last error, its current gate and its last gate decisions
 * (gate-status.ts, from the audit trail), and the service's health through the run (traffic-health.ts).
 * Read-only; creates nothing.
 */
import { HandoffError } from '../common/errors.js';
import { openStore } from '../store/store.js';
import type { RunRecord } from '../store/runs.js';
import type { Migration } from '../plan/schema.js';
import { readRunGates, type GateDecisionView, type WebhookCallView } from './gate-status.js';
import { holderIsDead } from './lease.js';
import { planRun } from './planner.js';
import { loadRunPlan, openRun, planningDeps, type EngineEnv } from './run-session.js';
import { defaultRegistry } from './stages/index.js';
import { readRunTraffic, type RunTraffic } from './traffic-health.js';

export interface RunSummary {
  id: string;
  plan: string;
  stage: string | null;
  state: string;
  started: string;
  updated: string;
}

export interface StepView {
  name: string;
  key: string | null;
  state: string;
  attempts: number;
  epoch: number | null;
  error: string | null;
  intentAt: string | null;
  doneAt: string | null;
  undoneAt: string | null;
}

export interface StageView {
  name: string;
  state: string;
  reason: string | null;
  started: string | null;
  finished: string | null;
  approvals: Array<{ role: string; approvedBy: string | null }>;
  /** Whether the stage has a gate of its own, evaluated after its steps. */
  gate: boolean;
  steps: StepView[];
}

export interface RunDetail extends RunSummary {
  planHash: string;
  planFile: string;
  reason: string | null;
  error: string | null;
  until: string | null;
  finished: string | null;
  stages: StageView[];
  approvals: Array<{ stage: string; by: string; role: string; at: string }>;
  pendingRequests: Array<{ action: string; by: string; at: string }>;
  lease: { holder: string; epoch: number; expires: string | null; live: boolean } | null;
  /** Stage-gate decisions kept in the store. */
  gateDecisions: Array<{ stage: string; outcome: string; reason: string; at: string }>;
  /** The last gate with a decision in the current stage, its checks as last measured. */
  currentGate: GateDecisionView | null;
  /** The run's last gate decisions from the audit trail (newest last). */
  lastDecisions: GateDecisionView[];
  /** Webhook calls made to ask for approvals. */
  approvalWebhooks: WebhookCallView[];
  /** The service's health through the run, from the whole-run router samples (traffic-health.ts). */
  traffic: RunTraffic;
}

/** A run's detail with what explain needs besides: the plan it started with and its last approval wait. */
export interface RunInspection {
  detail: RunDetail;
  plan: Migration | null;
  approvalWait: { stage: string; roles: string[]; timeoutMs: number | null; at: string } | null;
}

export const DEFAULT_DECISIONS = 10;

function summary(run: RunRecord): RunSummary {
  return {
    id: run.id,
    plan: run.planName,
    stage: run.stage,
    state: run.state,
    started: run.startedAt,
    updated: run.updatedAt,
  };
}

export function listRuns(env: EngineEnv): RunSummary[] {
  const store = openStore({ stateDir: env.stateDir, create: false, readOnly: true, redactor: env.redactor });
  if (!store) return [];
  try {
    return store.runs.list().map(summary);
  } finally {
    store.close();
  }
}

export function describeRun(env: EngineEnv, runId: string, options: { decisions?: number } = {}): RunDetail {
  return inspectRun(env, runId, options).detail;
}

export function inspectRun(env: EngineEnv, runId: string, options: { decisions?: number } = {}): RunInspection {
  const { store, run } = openRun(env, runId, { readOnly: true });
  try {
    const recordedStages = store.steps.stages(run.id);
    const steps = store.steps.list(run.id);
    const approvals = store.requests.approvals(run.id);
    // The planned stages (from the plan the run started with), merged with what was recorded.
    let planned: ReturnType<typeof planRun> | null = null;
    let plan: Migration | null = null;
    try {
      const loaded = loadRunPlan(run);
      plan = loaded.plan;
      const stages = (env.registry ?? defaultRegistry)(loaded.plan, planningDeps(env));
      planned = planRun({
        plan: loaded.plan,
        stages,
        observed: { id: run.id, state: run.state, stages: recordedStages, steps, approvals },
      });
    } catch (error) {
      if (!(error instanceof HandoffError)) throw error;
    }
    const names = planned
      ? planned.stages.map((stage) => stage.name as string)
      : recordedStages.map((stage) => stage.stage);
    const stageViews = names.map((name): StageView => {
      const recorded = recordedStages.find((item) => item.stage === name);
      const plannedStage = planned?.stages.find((item) => item.name === name);
      const stepNames = new Set([
        ...(plannedStage?.steps.map((step) => step.name) ?? []),
        ...steps.filter((s) => s.stage === name).map((s) => s.step),
      ]);
      return {
        name,
        state: recorded?.state ?? (plannedStage?.skip ? 'will be skipped' : 'pending'),
        reason: recorded?.reason ?? plannedStage?.skip ?? null,
        started: recorded?.startedAt ?? null,
        finished: recorded?.finishedAt ?? null,
        approvals: (plannedStage?.approvals ?? []).map((item) => ({ role: item.role, approvedBy: item.approvedBy })),
        gate: plannedStage?.gate ?? false,
        steps: [...stepNames].map((stepName): StepView => {
          const step = steps.find((item) => item.stage === name && item.step === stepName);
          return {
            name: stepName,
            key: step?.key ?? `${run.id}/${name}/${stepName}`,
            state: step?.state ?? 'pending',
            attempts: step?.attempts ?? 0,
            epoch: step?.epoch ?? null,
            error: step?.error ?? null,
            intentAt: step?.intentAt ?? null,
            doneAt: step?.doneAt ?? null,
            undoneAt: step?.undoneAt ?? null,
          };
        }),
      };
    });
    const lease = store.leases.get(run.id);
    const stored = store.records.gateDecisions(run.id);
    const gates = readRunGates({
      stateDir: env.stateDir,
      runId: run.id,
      stage: run.stage,
      stored,
      limit: options.decisions ?? DEFAULT_DECISIONS,
    });
    const detail: RunDetail = {
      ...summary(run),
      planHash: run.planHash,
      planFile: run.planFile,
      reason: run.reason,
      error: run.error,
      until: run.until,
      finished: run.finishedAt,
      stages: stageViews,
      approvals: approvals.map((item) => ({ stage: item.stage, by: item.by, role: item.role, at: item.approvedAt })),
      pendingRequests: store.requests
        .pending(run.id)
        .map((item) => ({ action: item.action, by: item.requestedBy, at: item.requestedAt })),
      lease: lease
        ? {
            holder: lease.holder,
            epoch: lease.epoch,
            expires: lease.expiresAt > 0 ? new Date(lease.expiresAt).toISOString() : null,
            live: lease.expiresAt > Date.now() && !holderIsDead(lease.holder),
          }
        : null,
      gateDecisions: stored.map((item) => ({
        stage: item.stage,
        outcome: item.outcome,
        reason: item.reason,
        at: item.decidedAt,
      })),
      currentGate: gates.current,
      lastDecisions: gates.decisions,
      approvalWebhooks: gates.webhooks,
      traffic: readRunTraffic(env.stateDir, run.id),
    };
    return { detail, plan, approvalWait: gates.approvalWait };
  } finally {
    store.close();
  }
}
