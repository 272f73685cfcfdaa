/**
 * `handoff explain RUN`: why a run is where it is, in words, from what status reads (the store and
 * the audit trail; read-only). Its state and stage; for a running run what it waits for (an
 * approval, the bake time left, minSamples not reached, passes in a row, a check that cannot
 * judge); for a paused run the reason and the commands that move it on; for a rolled-back run what
 * failed and the gate decision, with the values, that caused it; how the service did in each stage
 * (traffic-health.ts); and the last gate decisions (analysis/explain.ts words them).
 */
import { resolveCheck } from '../analysis/check-config.js';
import { explainGateDecision } from '../analysis/explain.js';
import { parseDuration } from '../common/duration.js';
import type { Migration } from '../plan/schema.js';
import type { CheckView, GateDecisionView } from './gate-status.js';
import { inspectRun, type RunDetail, type RunInspection, type StageView } from './status.js';
import { untilStage } from './events.js';
import type { EngineEnv } from './run-session.js';
import { stageTrafficText } from './traffic-health.js';

export type WaitKind = 'approval' | 'bake' | 'samples' | 'passes' | 'judgement' | 'decision' | 'step' | 'executor';

export interface Wait {
  kind: WaitKind;
  text: string;
  stage?: string;
  role?: string;
  check?: string;
  /** bake: milliseconds left; samples: have/need; passes: have/need. */
  leftMs?: number;
  have?: number;
  need?: number;
}

export interface NextAction {
  command: string;
  does: string;
}

export interface Failure {
  stage: string | null;
  error: string | null;
  /** The gate decision that made the run roll back, when a gate did. */
  decision: GateDecisionView | null;
  /** The decision in words, with the values that caused it. */
  text: string | null;
}

export interface RunExplanation {
  run: string;
  plan: string;
  state: string;
  stage: string | null;
  /** One sentence: where the run is. */
  summary: string;
  /** Further sentences: why. */
  details: string[];
  waitingFor: Wait[];
  actions: NextAction[];
  failure: Failure | null;
  currentGate: GateDecisionView | null;
  /** The last gate decisions (newest last), each with its words. */
  decisions: Array<GateDecisionView & { text: string }>;
  /** How the service did in each stage, in words, from the router's whole-run samples (empty without them). */
  traffic: string[];
}

export function explainRun(
  env: EngineEnv,
  runId: string,
  options: { decisions?: number; now?: number } = {},
): RunExplanation {
  return buildExplanation(inspectRun(env, runId, options), options.now ?? Date.now());
}

const TRAFFIC_STAGES = new Set(['shift', 'bake']);

function secondsText(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/** The plan's analysis for a stage (the plan's own, then the stage's override), as the traffic gates use it. */
function checkNeeds(plan: Migration | null, stage: string, check: string): { consecutiveSuccesses: number } | null {
  if (!plan) return null;
  const base = plan.spec.analysis;
  const override = plan.spec.stages.find((s) => s.name === stage)?.analysis;
  const analysis = { ...(base ?? {}), ...(override ?? {}) };
  const spec = (override?.checks && override.checks.length > 0 ? override.checks : (base?.checks ?? [])).find(
    (c) => c.name === check,
  );
  if (!spec) return null;
  try {
    return { consecutiveSuccesses: resolveCheck(spec, analysis).consecutiveSuccesses };
  } catch {
    return null;
  }
}

function bakeMsOf(plan: Migration | null, stage: string): number | null {
  if (!plan || !TRAFFIC_STAGES.has(stage)) return null;
  const text = plan.spec.stages.find((s) => s.name === stage)?.bake ?? plan.spec.traffic?.reads.bake ?? '30s';
  try {
    return parseDuration(text);
  } catch {
    return null;
  }
}

function threshold(check: CheckView, key: string): number | null {
  const value = check.threshold?.[key];
  return typeof value === 'number' ? value : null;
}

/** What a gate that has not decided to advance still waits for. */
function gateWaits(
  gate: GateDecisionView,
  plan: Migration | null,
  stageView: StageView | undefined,
  now: number,
): Wait[] {
  const waits: Wait[] = [];
  const step = stageView?.steps.find((s) => s.state === 'intent');
  const bakeMs = bakeMsOf(plan, gate.stage ?? '');
  if (step?.intentAt && bakeMs !== null) {
    const elapsed = now - Date.parse(step.intentAt);
    const left = bakeMs - elapsed;
    if (left > 0) {
      waits.push({
        kind: 'bake',
        stage: gate.stage ?? '',
        leftMs: left,
        text: `the bake of step ${step.name}: about ${secondsText(left)} of ${secondsText(bakeMs)} left`,
      });
    }
  }
  for (const check of gate.checks) {
    if (check.dryRun) continue;
    const minSamples = threshold(check, 'minSamples');
    if (minSamples !== null && minSamples > 0 && (check.samples ?? 0) < minSamples && check.outcome !== 'Fail') {
      waits.push({
        kind: 'samples',
        check: check.check,
        have: check.samples ?? 0,
        need: minSamples,
        text: `check ${check.check}: ${check.samples ?? 0} of the ${minSamples} target samples it needs (minSamples)`,
      });
    }
    const lacksSamples = waits.some((w) => w.kind === 'samples' && w.check === check.check);
    if (check.verdict === 'escalated' || (check.verdict === 'holding' && !lacksSamples)) {
      const what =
        check.verdict === 'escalated'
          ? 'has not been able to judge for its escalation bound (a human should look)'
          : 'cannot judge yet';
      waits.push({
        kind: 'judgement',
        check: check.check,
        text: `check ${check.check} ${what}: ${check.outcome ?? 'not measured'}: ${check.reason}`,
      });
    } else if (check.verdict === 'waiting' || check.verdict === null) {
      const need = checkNeeds(plan, gate.stage ?? '', check.check)?.consecutiveSuccesses ?? null;
      const have = check.consecutivePasses ?? 0;
      if (check.outcome === null) {
        waits.push({
          kind: 'passes',
          check: check.check,
          have: 0,
          ...(need ? { need } : {}),
          text: `check ${check.check}: not measured yet (${check.reason || 'waiting'})`,
        });
      } else if (need === null || have < need) {
        const fails = check.failures
          ? `; ${check.failures} failed measurement${check.failures === 1 ? '' : 's'} so far`
          : '';
        waits.push({
          kind: 'passes',
          check: check.check,
          have,
          ...(need ? { need } : {}),
          text: `check ${check.check}: ${have}${need ? ` of ${need}` : ''} passes in a row (last ${check.outcome})${fails}`,
        });
      }
    }
  }
  return waits;
}

function missingRoles(stageView: StageView | undefined): string[] {
  return (stageView?.approvals ?? []).filter((a) => a.approvedBy === null).map((a) => a.role);
}

function approveActions(runId: string, stage: string, roles: string[]): NextAction[] {
  return roles.map((role) => ({
    command: `handoff approve ${runId} --stage ${stage} --as NAME --role ${role}`,
    does: `approve stage ${stage}; needs someone with role ${role}`,
  }));
}

function failureOf(detail: RunDetail): Failure {
  const failed = [...detail.stages].reverse().find((s) => s.reason && (s.state === 'failed' || s.state === 'undone'));
  // The gate caused the rollback only if its rollback is the run's last decision (a gate that decided
  // to roll back while the source was down paused the run; a resumed step decides afresh).
  const last = detail.lastDecisions.at(-1);
  const decision = last && (last.decision === 'rollback' || last.decision === 'Fail') ? last : null;
  const stage = decision?.stage ?? failed?.name ?? null;
  return {
    stage,
    error: detail.error ?? failed?.reason ?? null,
    decision,
    text: decision ? explainGateDecision(decision) : null,
  };
}

export function buildExplanation(inspection: RunInspection, now: number): RunExplanation {
  const { detail, plan, approvalWait } = inspection;
  const id = detail.id;
  const stage = detail.stage;
  const stageView = detail.stages.find((s) => s.name === stage);
  const at = stage ? ` at stage ${stage}` : '';
  const live = detail.lease?.live ?? false;
  const details: string[] = [];
  const waitingFor: Wait[] = [];
  const actions: NextAction[] = [];
  let failure: Failure | null = null;
  let summary: string;
  const missing = missingRoles(stageView);
  const beforeStage = stageView?.state === 'pending' && missing.length > 0;
  const gate = detail.currentGate;

  const approvalWaits = (): void => {
    if (!stage || !beforeStage) return;
    for (const role of missing) {
      const since = approvalWait?.stage === stage ? `, asked at ${approvalWait.at}` : '';
      const bound =
        live && approvalWait?.stage === stage && approvalWait.timeoutMs
          ? `; the run pauses if none comes within ${secondsText(approvalWait.timeoutMs)}`
          : '';
      waitingFor.push({
        kind: 'approval',
        stage,
        role,
        text: `an approval of stage ${stage} by someone with role ${role}${since}${bound}`,
      });
    }
    const hooks = detail.approvalWebhooks.filter((w) => w.stage === stage);
    for (const hook of hooks) {
      details.push(
        hook.delivered
          ? `The approval was asked for by webhook (${hook.url}, HTTP ${hook.status}) at ${hook.at}.`
          : `The approval webhook (${hook.url}) could not be called: ${hook.error ?? 'unknown error'}; ask for the approval another way.`,
      );
    }
    actions.push(...approveActions(id, stage, missing));
  };

  switch (detail.state) {
    case 'running': {
      if (!live) {
        summary = `Run ${id} is marked running${at}, but no executor holds it: the process stopped without recording why (for example it was killed).`;
        waitingFor.push({ kind: 'executor', text: 'an executor: nothing is acting on the run' });
        actions.push({
          command: `handoff resume ${id}`,
          does: 'continue from the last recorded step (steps left as intents run again)',
        });
        actions.push({ command: `handoff rollback ${id}`, does: 'undo every step done, in reverse' });
        break;
      }
      summary = `Run ${id} is running${at} (executor ${detail.lease?.holder ?? 'unknown'}).`;
      approvalWaits();
      if (!beforeStage) {
        const step = stageView?.steps.find((s) => s.state === 'intent');
        if (gate && gate.decision !== 'advance' && gate.decision !== 'Pass') {
          details.push(
            `Gate ${gate.gate} decided ${gate.decision} at ${gate.at}${gate.reasons[0] ? `: ${gate.reasons[0]}` : ''}.`,
          );
          waitingFor.push(...gateWaits(gate, plan, stageView, now));
          if (!waitingFor.some((w) => w.kind !== 'step'))
            waitingFor.push({ kind: 'decision', text: `gate ${gate.gate} to decide` });
        } else if (step) {
          waitingFor.push({
            kind: 'step',
            stage: stage ?? '',
            text: `step ${step.name} of stage ${stage ?? '?'} to finish (started ${step.intentAt ?? 'just now'}${step.attempts > 1 ? `, attempt ${step.attempts}` : ''})`,
          });
          if (gate)
            details.push(
              `The last gate of this stage, ${gate.gate}, decided ${gate.decision} at ${gate.at}; the step's own gate has not decided yet.`,
            );
        } else if (
          stageView?.gate &&
          stageView.state === 'running' &&
          stageView.steps.every((s) => s.state === 'done')
        ) {
          waitingFor.push({
            kind: 'decision',
            stage: stage ?? '',
            text: `the gate of stage ${stage ?? '?'} to decide (its steps are done)`,
          });
        }
      }
      actions.push({ command: `handoff pause ${id}`, does: 'pause at the next step boundary' });
      actions.push({
        command: `handoff rollback ${id}`,
        does: 'undo every step done, in reverse (taken at the next step boundary)',
      });
      break;
    }
    case 'paused': {
      summary = `Run ${id} is paused${at}: ${detail.reason ?? 'no reason recorded'}.`;
      const until = untilStage(detail.reason);
      if (until !== null)
        details.push(
          `It stopped after stage ${until} because the run was started with --until; resume runs the next stages.`,
        );
      approvalWaits();
      if (gate && gate.decision !== 'advance' && gate.decision !== 'Pass') {
        details.push(
          `Gate ${gate.gate} decided ${gate.decision} at ${gate.at}${gate.reasons[0] ? `: ${gate.reasons[0]}` : ''}.`,
        );
        if (gate.decision === 'rollback' || gate.decision === 'Fail')
          details.push(
            'Nothing was rolled back: the source could not take the traffic back, or automatic rollback is off.',
          );
        else
          details.push(
            'Nothing was rolled back: a gate that cannot tell holds the step (traffic stays as it was) until someone looks.',
          );
      }
      if (beforeStage)
        actions.push({ command: `handoff resume ${id}`, does: `continue once stage ${stage ?? ''} is approved` });
      else
        actions.push({
          command: `handoff resume ${id}`,
          does: gate ? `run the step again and evaluate gate ${gate.gate} afresh` : 'continue from where it stopped',
        });
      actions.push({ command: `handoff rollback ${id}`, does: 'undo every step done, in reverse' });
      break;
    }
    case 'rolled-back': {
      summary = `Run ${id} was rolled back${at}: ${detail.reason ?? 'no reason recorded'}.`;
      failure = failureOf(detail);
      if (detail.reason?.startsWith('rollback requested by'))
        details.push('The rollback was asked for; nothing failed.');
      else if (failure.decision)
        details.push(
          `Gate ${failure.decision.gate} decided ${failure.decision.decision} at ${failure.decision.at}; every stage done was undone in reverse.`,
        );
      else if (failure.error) details.push(`What failed: ${failure.error}`);
      actions.push({ command: `handoff report ${id}`, does: 'write the run report' });
      break;
    }
    case 'rolling-back':
    case 'failed': {
      summary =
        detail.state === 'failed'
          ? `Run ${id} failed${at} and its rollback did not finish: ${detail.error ?? detail.reason ?? 'no error recorded'}.`
          : `Run ${id} is rolling back${at}${live ? '' : ', but no executor is doing it (the rollback was interrupted)'}: ${detail.reason ?? ''}.`;
      failure = failureOf(detail);
      if (!live || detail.state === 'failed')
        actions.push({ command: `handoff rollback ${id}`, does: 'carry on undoing what is left, in reverse' });
      break;
    }
    case 'aborted':
      summary = `Run ${id} was aborted${at}: ${detail.reason ?? 'no reason recorded'}. What it did is still in place.`;
      actions.push({ command: `handoff rollback ${id}`, does: 'undo every step done, in reverse' });
      break;
    case 'succeeded':
      summary = `Run ${id} succeeded: every stage is done${detail.finished ? ` (finished ${detail.finished})` : ''}.`;
      actions.push({ command: `handoff report ${id}`, does: 'write the run report' });
      break;
    default:
      summary = `Run ${id} is ${detail.state}${at}${detail.reason ? `: ${detail.reason}` : ''}.`;
  }
  for (const request of detail.pendingRequests) {
    details.push(
      `A ${request.action} was asked by ${request.by} at ${request.at}; the executor takes it at its next step boundary.`,
    );
  }
  return {
    run: id,
    plan: detail.plan,
    state: detail.state,
    stage,
    summary,
    details,
    waitingFor,
    actions,
    failure,
    currentGate: gate,
    decisions: detail.lastDecisions.map((d) => ({ ...d, text: explainGateDecision(d) })),
    traffic: detail.traffic.stages.map(stageTrafficText),
  };
}

/** The explanation as text: a few short paragraphs. */
export function formatExplanation(e: RunExplanation): string {
  const lines = [e.summary, ...e.details];
  if (e.traffic.length > 0) {
    lines.push('', 'How the service did (router, per stage; worst window):');
    for (const text of e.traffic) lines.push(`  ${text}`);
  }
  if (e.waitingFor.length > 0) {
    lines.push('', 'It waits for:');
    for (const wait of e.waitingFor) lines.push(`  - ${wait.text}`);
  }
  if (e.failure?.text)
    lines.push('', 'The decision that rolled it back:', ...e.failure.text.split('\n').map((l) => `  ${l}`));
  if (e.actions.length > 0) {
    lines.push('', 'What you can do:');
    for (const action of e.actions) lines.push(`  ${action.command}`, `      ${action.does}`);
  }
  if (e.decisions.length > 0) {
    lines.push('', 'Last gate decisions (newest last):');
    for (const d of e.decisions) {
      const shown = e.failure?.decision && d.seq !== null && d.seq === e.failure.decision.seq;
      const text = shown ? `${d.text.split('\n')[0]?.replace(/:$/, '')} (shown above)` : d.text;
      lines.push(...`${d.at}${d.stage ? ` [${d.stage}]` : ''} ${text}`.split('\n').map((l) => `  ${l}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
