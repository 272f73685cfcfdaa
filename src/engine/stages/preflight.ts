/**
 * The preflight stage: the one preflight's checks (`../preflight-checks.ts`), one step each, each
 * recording its findings (state `preflight.findings`, event `preflight-findings`), then a step that
 * stops the run on any blocker. `handoff preflight -f` runs the same checks with the same adapters.
 */
import type { Finding } from '../../common/findings.js';
import type { Migration } from '../../plan/schema.js';
import {
  blockersError,
  preflightChecksFor,
  preflightEnvOf,
  runPreflight,
  type PreflightCheck,
} from '../preflight-checks.js';
import type { Stage, StageDeps } from '../stage.js';
import type { Step, StepContext } from '../step.js';
import { runtimeOf } from './support.js';
import {
  TRAFFIC_BASELINE_KEY,
  baselineWindowMs,
  measureTrafficBaseline,
  type TrafficBaseline,
} from '../../data/throttle/baseline.js';
import { RUN_SAMPLE_SUBJECT } from '../traffic-telemetry.js';

const FINDINGS = 'preflight.findings';

function record(ctx: StepContext, component: string, findings: Finding[]): { blockers: number; warnings: number } {
  const all = ctx.state.get<Record<string, Finding[]>>(FINDINGS) ?? {};
  all[component] = findings;
  ctx.state.set(FINDINGS, all);
  ctx.events.emit('preflight-findings', { component, findings }, { subject: component });
  return {
    blockers: findings.filter((f) => f.severity === 'blocker').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

function checkStep(check: PreflightCheck, deps: StageDeps): Step {
  return {
    name: check.step,
    async run(ctx) {
      const [result] = (
        await runPreflight(
          preflightEnvOf(ctx, () => runtimeOf(deps)),
          [check],
        )
      ).components;
      const findings = result?.findings ?? [];
      const counts = record(ctx, check.component, findings);
      return { ...(findings.length > 0 ? counts : {}), ...result?.details };
    },
  };
}

/** Read-only checks of both sites; any blocker stops the run before anything changes. */
export function preflightStage(plan: Migration, deps: StageDeps): Stage {
  const steps: Step[] = preflightChecksFor(plan).map((check) => checkStep(check, deps));
  steps.push({
    name: 'judge-findings',
    async run(ctx) {
      const all = Object.values(ctx.state.get<Record<string, Finding[]>>(FINDINGS) ?? {}).flat();
      const error = blockersError(all);
      if (error) throw error;
      return { findings: all.length, warnings: all.filter((f) => f.severity === 'warning').length };
    },
  });
  const windowMs = baselineWindowMs(plan);
  if (windowMs > 0) steps.push(baselineStep(windowMs));
  return { name: 'preflight', steps };
}

/**
 * The run's latency baseline (data/throttle/baseline.ts), measured last, once the checks are done
 * and before anything is copied: every pacer of the run judges its latency budget against it.
 */
function baselineStep(windowMs: number): Step {
  return {
    name: 'traffic-baseline',
    async run(ctx) {
      const baseline: TrafficBaseline = await measureTrafficBaseline(
        ctx.events,
        windowMs,
        RUN_SAMPLE_SUBJECT,
        ctx.signal,
      );
      ctx.state.set(TRAFFIC_BASELINE_KEY, baseline);
      ctx.events.emit('traffic-baseline', baseline, { subject: 'router' });
      return { ...baseline };
    },
  };
}
