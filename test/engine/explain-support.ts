/**
 * Real runs with gates for the status, explain and approval-webhook tests: a plan file with an
 * analysis section and approvals, and a stage registry whose shift steps watch a real analysis gate
 * (analysis/gate.ts, the plan's checks resolved as the traffic stages resolve them) over recorded
 * series, so the engine records real `check-measured` and `gate-decided` events; a verify stage
 * whose own gate can fail with recorded checks. The engine, store and audit trail are the real ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { resolveCheck } from '../../src/analysis/check-config.js';
import { createGate } from '../../src/analysis/gate.js';
import { createFakeProvider, ok, type RecordedStep } from '../../src/analysis/providers/fake.js';
import { parseDuration } from '../../src/common/duration.js';
import { GateFailedError, HoldRunError } from '../../src/common/errors.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { sleep } from '../../src/common/net.js';
import { createRedactor } from '../../src/common/redact.js';
import type { EngineEnv } from '../../src/engine/run-session.js';
import type { Step, StepContext } from '../../src/engine/step.js';
import type { GateResult, Stage, StageRegistry } from '../../src/engine/stage.js';
import { main } from '../../src/cli/main.js';
import type { CliResult } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

export interface GatePlanOptions {
  name: string;
  steps?: number[];
  bake?: string;
  /** YAML lines of spec.approvals entries. */
  approvals?: string[];
  consecutiveSuccesses?: number;
  /** More fields of the errors check, as YAML flow entries (for example `escalateAfter: 1s`). */
  errorsCheck?: string;
}

export interface GatePlan {
  dir: string;
  plan: string;
  stateDir: string;
  cleanup(): void;
}

export function writeGatePlan(options: GatePlanOptions): GatePlan {
  const tmp = makeTempDir('handoff-explain-');
  const plan = path.join(tmp.dir, 'plan.yaml');
  const approvals = options.approvals?.length
    ? `  approvals:\n${options.approvals.map((a) => `    - ${a}`).join('\n')}\n`
    : '';
  fs.writeFileSync(
    plan,
    `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: ${options.name} }
spec:
  source: { platform: { kind: local }, endpoint: "http://127.0.0.1:18081" }
  target: { platform: { kind: local }, endpoint: "http://127.0.0.1:18082" }
  traffic:
    router: { kind: builtin, listen: "127.0.0.1:18080" }
    reads: { steps: [${(options.steps ?? [25, 100]).join(', ')}], bake: ${options.bake ?? '2s'} }
  analysis:
    interval: 1s
    minSamples: 100
    checks:
      - { name: errors, metric: router.error_rate, max: 0.05, relativeToSource: { fail: 2 }, critical: true${options.errorsCheck ? `, ${options.errorsCheck}` : ''} }
      - { name: p99, metric: router.latency_p99_ms, max: 500, consecutiveSuccesses: ${options.consecutiveSuccesses ?? 1} }
${approvals}`,
  );
  return { dir: tmp.dir, plan, stateDir: path.join(tmp.dir, 'state'), cleanup: tmp.cleanup };
}

/** What the providers answer, per gate and check, one reading pair per measurement. */
export type Series = (gate: string, check: string) => RecordedStep[];

export function repeat(step: RecordedStep, times = 300): RecordedStep[] {
  return Array.from({ length: times }, () => step);
}

export const healthy: RecordedStep = {
  source: ok({ error_rate: 0.01, latency_p99_ms: 100 }, 500),
  target: ok({ error_rate: 0.01, latency_p99_ms: 110 }, 500),
};

/** shift-25: one healthy measurement, then the target fails 4 % of 1000 requests (under max 0.05, 4× the source). */
export const failingAt25: Series = (gate, check) =>
  gate === 'shift-25' && check === 'errors'
    ? [healthy, { source: ok({ error_rate: 0.01 }, 4000), target: ok({ error_rate: 0.04 }, 1000) }, ...repeat(healthy)]
    : repeat(healthy);

export interface RegistryOptions {
  series: Series;
  /** Skip the shift stage (the run goes straight from preflight to verify and finalize). */
  skipShift?: boolean;
  /** The verify stage's own gate result (absent: verify has no gate); `blocks`: it decides only when aborted. */
  verifyGate?: GateResult | 'blocks';
}

function verifyGate(result: GateResult | 'blocks'): (ctx: StepContext) => Promise<GateResult> {
  if (result !== 'blocks') return () => Promise.resolve(result);
  return (ctx) =>
    new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
    );
}

function noop(name: string): Step {
  return { name, run: () => Promise.resolve({ ok: true }), undo: () => Promise.resolve() };
}

/** Watches one step's gate like the traffic stages do, over the recorded series. */
async function watch(ctx: StepContext, gateName: string, series: Series): Promise<Record<string, unknown>> {
  const analysis = ctx.plan.spec.analysis;
  if (!analysis) throw new Error('the test plan has an analysis section');
  const bakeMs = parseDuration(ctx.plan.spec.traffic?.reads.bake ?? '2s');
  const gate = createGate({
    name: gateName,
    bakeMs,
    events: ctx.events,
    checks: analysis.checks.map((spec) => ({
      config: resolveCheck(spec, analysis),
      provider: createFakeProvider({ series: series(gateName, spec.name) }),
    })),
  });
  const deadline = Date.now() + bakeMs + 120_000;
  await gate.start();
  try {
    for (;;) {
      const decision = await gate.tick(ctx.signal);
      if (decision.decision === 'advance') return { gate: gateName, decision: 'advance' };
      if (decision.decision === 'rollback')
        throw new GateFailedError(`gate ${gateName} failed: ${decision.reasons.join('; ')}`);
      if (decision.decision === 'escalate')
        throw new HoldRunError(`gate ${gateName} cannot judge: ${decision.reasons.join('; ')}`);
      if (Date.now() > deadline) throw new HoldRunError(`gate ${gateName} did not decide within its bound`);
      await sleep(Math.max(50, Math.min(gate.nextDueAt() - Date.now(), 1000)), ctx.signal);
    }
  } finally {
    await gate.stop();
  }
}

export function gateRegistry(options: RegistryOptions): StageRegistry {
  return (plan) => {
    const steps = plan.spec.traffic?.reads.steps ?? [];
    const stages: Stage[] = [
      { name: 'preflight', steps: [noop('check-sites')] },
      {
        name: 'verify',
        steps: [noop('compare-tables')],
        ...(options.verifyGate ? { gate: verifyGate(options.verifyGate) } : {}),
      },
      options.skipShift
        ? { name: 'shift', skip: 'this test skips the shift', steps: [] }
        : {
            name: 'shift',
            steps: steps.map((percent) => ({
              name: `reads-${percent}`,
              run: (ctx: StepContext) => watch(ctx, `shift-${percent}`, options.series),
              undo: () => Promise.resolve(),
            })),
          },
      { name: 'finalize', steps: [noop('write-checkpoint')] },
    ];
    return stages;
  };
}

export function engineEnvFor(fx: GatePlan, registry: StageRegistry, events?: HandoffEvent[]): EngineEnv {
  return {
    stateDir: fx.stateDir,
    env: process.env,
    cwd: fx.dir,
    redactor: createRedactor(),
    logger: createSilentLogger(),
    actor: 'tester',
    registry,
    pollMs: 50,
    report: false,
    ...(events ? { observe: (bus) => void bus.on((e) => events.push(e)) } : {}),
  };
}

/** The CLI in this process (its real parsing and exit codes). */
export async function cli(fx: GatePlan, args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const code = await main([...args, '--state-dir', fx.stateDir], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, HANDOFF_STATE_DIR: '' },
    cwd: fx.dir,
    isTTY: false,
  });
  return { code, signal: null, stdout, stderr, elapsedMs: Date.now() - started };
}

export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}
