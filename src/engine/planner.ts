/**
 * The planner: a pure function from (stages of a plan, what the store observed of a run) to what
 * the executor will do, in order: stages, their skip reasons, approvals, steps, gates, and which
 * steps are already done. `handoff run --dry-run` prints it. No I/O here.
 */
import { parseDuration } from '../common/duration.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { ApprovalRecord } from '../store/requests.js';
import type { RunState } from '../store/runs.js';
import type { StageRecord, StepRecord } from '../store/steps.js';
import type { Stage } from './stage.js';

export const DEFAULT_APPROVAL_TIMEOUT_MS = 3_600_000;

/** What the store knows of an existing run of the plan. */
export interface ObservedRun {
  id: string;
  state: RunState;
  stages: StageRecord[];
  steps: StepRecord[];
  approvals: ApprovalRecord[];
}

/** pending: not started. replay: recorded as intent or failed, runs again. done/undone: as recorded. */
export type PlannedStepStatus = 'pending' | 'replay' | 'done' | 'undone';
export type PlannedStageStatus = 'pending' | 'skipped' | 'done' | 'undone' | 'in-progress';

export interface PlannedStep {
  name: string;
  /** The idempotency key (`RUN/STAGE/STEP`); null when there is no run yet. */
  key: string | null;
  status: PlannedStepStatus;
  undoable: boolean;
}

export interface RequiredApproval {
  role: string;
  timeoutMs: number;
  /** Who approved, when the run already has the approval. */
  approvedBy: string | null;
}

export interface PlannedStage {
  name: StageName;
  status: PlannedStageStatus;
  skip: string | null;
  approvals: RequiredApproval[];
  steps: PlannedStep[];
  gate: boolean;
}

export interface RunPlan {
  plan: string;
  runId: string | null;
  automaticRollback: boolean;
  until: StageName | null;
  stages: PlannedStage[];
}

export interface PlanRunOptions {
  plan: Migration;
  stages: Stage[];
  observed?: ObservedRun | null;
  until?: StageName | null;
}

/** The approvals a stage needs (`spec.approvals[].before`), each with its bound. */
export function requiredApprovals(plan: Migration, stage: StageName): Array<{ role: string; timeoutMs: number }> {
  return plan.spec.approvals
    .filter((approval) => approval.before === stage)
    .map((approval) => ({
      role: approval.role,
      timeoutMs: approval.timeout ? parseDuration(approval.timeout) : DEFAULT_APPROVAL_TIMEOUT_MS,
    }));
}

export function planRun(options: PlanRunOptions): RunPlan {
  const observed = options.observed ?? null;
  const stages = options.stages.map((stage): PlannedStage => {
    const record = observed?.stages.find((item) => item.stage === stage.name);
    const steps = stage.steps.map((step): PlannedStep => {
      const done = observed?.steps.find((item) => item.stage === stage.name && item.step === step.name);
      const status: PlannedStepStatus = !done
        ? 'pending'
        : done.state === 'done' || done.state === 'undone'
          ? done.state
          : 'replay';
      return {
        name: step.name,
        key: observed ? `${observed.id}/${stage.name}/${step.name}` : null,
        status,
        undoable: typeof step.undo === 'function',
      };
    });
    const approvals = requiredApprovals(options.plan, stage.name).map((required) => ({
      ...required,
      approvedBy:
        observed?.approvals.find((item) => item.stage === stage.name && item.role === required.role)?.by ?? null,
    }));
    let status: PlannedStageStatus = 'pending';
    if (stage.skip) status = 'skipped';
    else if (record?.state === 'done' || record?.state === 'skipped' || record?.state === 'undone')
      status = record.state;
    else if (record) status = 'in-progress';
    return {
      name: stage.name,
      status,
      skip: stage.skip ?? null,
      approvals: stage.skip ? [] : approvals,
      steps,
      gate: typeof stage.gate === 'function',
    };
  });
  return {
    plan: options.plan.metadata.name,
    runId: observed?.id ?? null,
    automaticRollback: options.plan.spec.rollback.automatic,
    until: options.until ?? null,
    stages,
  };
}

/** The plan as readable lines (what `handoff run --dry-run` prints without `-o json`). */
export function formatRunPlan(runPlan: RunPlan): string {
  const lines: string[] = [];
  const header = runPlan.runId
    ? `plan ${runPlan.plan}: resumes run ${runPlan.runId}`
    : `plan ${runPlan.plan}: a new run`;
  lines.push(header);
  lines.push(`  rollback on failure: ${runPlan.automaticRollback ? 'automatic' : 'pause the run'}`);
  if (runPlan.until) lines.push(`  stops after stage ${runPlan.until}`);
  for (const [index, stage] of runPlan.stages.entries()) {
    const mark = stage.skip ? `skipped: ${stage.skip}` : stage.status;
    lines.push(`${index + 1}. ${stage.name} (${mark})`);
    for (const approval of stage.approvals) {
      const state = approval.approvedBy
        ? `approved by ${approval.approvedBy}`
        : `waits up to ${approval.timeoutMs / 1000}s`;
      lines.push(`   approval by role ${approval.role} (${state})`);
    }
    for (const step of stage.steps) {
      lines.push(`   - ${step.name} [${step.status}]${step.undoable ? ' (undoable)' : ''}`);
    }
    if (stage.gate) lines.push('   gate');
  }
  return `${lines.join('\n')}\n`;
}
