import type { Command } from 'commander';
import { explainCheck } from '../../analysis/explain.js';
import type { GateDecisionView } from '../../engine/gate-status.js';
import { DEFAULT_DECISIONS, describeRun, listRuns, type RunDetail } from '../../engine/status.js';
import { classHealthText, stageTrafficText } from '../../engine/traffic-health.js';
import { UsageError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { watchRun } from '../../terminal/watch-run.js';
import { outputFormat, type CliContext } from '../context.js';
import { liveOutput } from '../live.js';
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

interface StatusFlags {
  output?: string;
  stateDir?: string;
  decisions?: string;
  watch?: boolean;
  timeout?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  /** `--watch`: exit 0 when the run succeeded or stopped at its --until stage, else 1 (docs/status.md). */
  async function watch(runId: string | undefined, flags: StatusFlags, format: 'json' | 'text'): Promise<0 | 1> {
    if (!flags.watch) throw new UsageError('--timeout: only with --watch');
    if (runId === undefined) throw new UsageError('--watch: name the run to watch (handoff status --watch RUN)');
    const timeoutMs = flags.timeout === undefined ? null : durationFlag(flags.timeout, '--timeout');
    const env = engineEnv(ctx, flags);
    describeRun(env, runId, { decisions: 1 }); // an unknown run is bad input before anything is drawn
    const output = liveOutput(ctx);
    let result;
    try {
      result = await watchRun({ env, runId, output, untilStopped: true, timeoutMs });
    } finally {
      output.close();
    }
    const detail = describeRun(env, runId, { decisions: decisionsFlag(flags.decisions) });
    if (format === 'json') ctx.json(detail);
    if (result.timedOut) {
      ctx.err(`run ${runId} is still ${detail.state} after ${flags.timeout} (--timeout); stopped watching\n`);
      return 1;
    }
    return watchExitCode(detail);
  }

  program
    .command('status')
    .description('show the runs, or one run with its stages and steps')
    .argument('[run]', 'a run id')
    .option('-o, --output <format>', 'text or json')
    .option('--decisions <n>', `how many of the run's last gate decisions to show (default ${DEFAULT_DECISIONS})`)
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--watch', 'follow the run live until it stops (a live view on a terminal, plain lines otherwise)')
    .option('--timeout <duration>', 'with --watch: stop watching after this long (exit 1), e.g. 30m')
    .action(
      run(async (runId: string | undefined, flags: StatusFlags) => {
        const format = outputFormat(flags.output);
        const decisions = decisionsFlag(flags.decisions);
        const env = engineEnv(ctx, flags);
        if (flags.watch || flags.timeout !== undefined) return watch(runId, flags, format);
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

/** The exit code of a watched run: 0 when it succeeded or stopped at its `--until` stage, 1 otherwise. */
export function watchExitCode(run: { state: string; reason: string | null }): 0 | 1 {
  if (run.state === 'succeeded') return 0;
  if (run.state === 'paused' && run.reason?.startsWith('until ')) return 0;
  return 1;
}

function durationFlag(value: string, flag: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new UsageError(`${flag}: "${value}" is not a duration; write for example 30s, 10m or 1h`);
  }
  if (ms <= 0) throw new UsageError(`${flag}: give a duration above 0`);
  return ms;
}
