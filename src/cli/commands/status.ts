import type { Command } from 'commander';
import { explainCheck } from '../../analysis/explain.js';
import type { GateDecisionView } from '../../engine/gate-status.js';
import { DEFAULT_DECISIONS, describeRun, listRuns, type RunDetail } from '../../engine/status.js';
import { classHealthText, stageTrafficText } from '../../engine/traffic-health.js';
import { outputFormat, type CliContext } from '../context.js';
import { decisionsFlag, engineEnv, type Runner } from '../command.js';

function renderRun(ctx: CliContext, run: RunDetail): void {
  ctx.out(`run ${run.id} (plan ${run.plan}): ${run.state}${run.stage ? ` at stage ${run.stage}` : ''}\n`);
  ctx.out(`  started ${run.started}, updated ${run.updated}${run.finished ? `, finished ${run.finished}` : ''}\n`);
  if (run.reason) ctx.out(`  reason: ${run.reason}\n`);
  if (run.error) ctx.out(`  last error: ${run.error}\n`);
  if (run.lease?.live)
    ctx.out(`  executing: ${run.lease.holder} (epoch ${run.lease.epoch}, lease until ${run.lease.expires})\n`);
  for (const request of run.pendingRequests)
    ctx.out(`  pending: ${request.action} asked by ${request.by} at ${request.at}\n`);
  for (const stage of run.stages) {
    ctx.out(`  ${stage.name}: ${stage.state}${stage.reason ? ` (${stage.reason})` : ''}\n`);
    for (const approval of stage.approvals) {
      ctx.out(
        `    approval by role ${approval.role}: ${approval.approvedBy ? `given by ${approval.approvedBy}` : 'missing'}\n`,
      );
    }
    for (const step of stage.steps) {
      const tries = step.attempts > 1 ? `, ${step.attempts} attempts` : '';
      ctx.out(`    - ${step.name}: ${step.state}${tries}${step.error ? ` (${step.error})` : ''}\n`);
    }
  }
  renderGates(ctx, run);
  renderTraffic(ctx, run);
}

/** The latest window per site and class, and each stage's worst so far. */
function renderTraffic(ctx: CliContext, run: RunDetail): void {
  const { latest, stages } = run.traffic;
  if (!latest) return;
  ctx.out(`  service health (router, the ${(latest.windowMs / 1000).toFixed(1)} s to ${latest.at}):
`);
  for (const c of latest.classes)
    ctx.out(`    ${classHealthText(c)}
`);
  ctx.out(`  per stage (worst window):
`);
  for (const s of stages)
    ctx.out(`    ${stageTrafficText(s)}
`);
}

function decisionLine(d: GateDecisionView): string {
  return `${d.at} ${d.gate}${d.stage && d.stage !== d.gate ? ` (stage ${d.stage})` : ''}: ${d.decision}${d.reasons[0] ? `: ${d.reasons[0]}` : ''}`;
}

/** The current gate and the last decisions, a few lines; `handoff explain` says more. */
function renderGates(ctx: CliContext, run: RunDetail): void {
  const gate = run.currentGate;
  if (gate) {
    ctx.out(`  current gate ${gate.gate} (stage ${gate.stage ?? '?'}): ${gate.decision} since ${gate.at}\n`);
    for (const reason of gate.reasons) ctx.out(`    - ${reason}\n`);
    for (const check of gate.checks) ctx.out(`    ${explainCheck(check)}\n`);
  }
  for (const hook of run.approvalWebhooks) {
    ctx.out(
      `  approval webhook for ${hook.stage}/${hook.role} (${hook.url}): ${hook.delivered ? `delivered, HTTP ${hook.status}` : `not delivered: ${hook.error}`}\n`,
    );
  }
  if (run.lastDecisions.length > 0) {
    ctx.out(`  last gate decisions (newest last):\n`);
    for (const d of run.lastDecisions) ctx.out(`    ${decisionLine(d)}\n`);
  }
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('status')
    .description('show the runs, or one run with its stages and steps')
    .argument('[run]', 'a run id')
    .option('-o, --output <format>', 'text or json')
    .option('--decisions <n>', `how many of the run's last gate decisions to show (default ${DEFAULT_DECISIONS})`)
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .action(
      run((runId: string | undefined, flags: { output?: string; stateDir?: string; decisions?: string }) => {
        const format = outputFormat(flags.output);
        const decisions = decisionsFlag(flags.decisions);
        const env = engineEnv(ctx, flags);
        if (runId !== undefined) {
          const detail = describeRun(env, runId, { decisions });
          if (format === 'json') ctx.json(detail);
          else renderRun(ctx, detail);
          return 0;
        }
        const runs = listRuns(env);
        if (format === 'json') ctx.json({ runs });
        else if (runs.length === 0) ctx.out(`no runs in ${env.stateDir}\n`);
        else {
          for (const item of runs) {
            ctx.out(
              `${item.id}  ${item.plan}  ${item.state}${item.stage ? ` (${item.stage})` : ''}  started ${item.started}  updated ${item.updated}\n`,
            );
          }
        }
        return 0;
      }),
    );
}
