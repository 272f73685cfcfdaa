/**
 * `handoff preflight -f plan.yaml`: the one preflight (`preflight-checks.ts`) outside a run. The
 * plan's secrets are resolved as a run resolves them (relative files from the plan's directory,
 * Kubernetes Secrets read into memory), and the adapters come from the engine's runtime, built as
 * the run builds them (a built-in router without an admin address is started in this process for
 * the check and stopped after it). Nothing is recorded: no run, no audit trail.
 */
import { loadKubernetesSecrets } from './adapters.js';
import path from 'node:path';
import { createEventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { LoadedPlan } from '../plan/load.js';
import { resolveSecrets } from '../plan/secrets.js';
import { preflightEnvOf, runPreflight, type PreflightCheck, type PreflightResult } from './preflight-checks.js';
import { createRuntime } from './runtime.js';
import type { StepContext } from './step.js';

export interface PreflightPlanOptions {
  /** Absolute path of the plan file (relative `fromFile` references resolve from its directory). */
  planFile: string;
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  logger: Logger;
  /** The state directory a run of this plan would use (the local platform reads its instances there). */
  stateDir: string;
  /** Bound on the whole preflight; aborted checks stop promptly. */
  signal?: AbortSignal;
  /** The checks to run instead of every one that applies (tests). */
  checks?: readonly PreflightCheck[];
}

export async function preflightPlan(loaded: LoadedPlan, options: PreflightPlanOptions): Promise<PreflightResult> {
  const secrets = resolveSecrets(loaded, {
    env: options.env,
    cwd: path.dirname(options.planFile),
    redactor: options.redactor,
  });
  await loadKubernetesSecrets(secrets, options.redactor, options.signal);
  const runtime = createRuntime({ stateDir: options.stateDir });
  const values = new Map<string, unknown>();
  const ctx: StepContext = {
    runId: 'preflight',
    stage: 'preflight',
    key: 'preflight/preflight/checks',
    epoch: 0,
    plan: loaded.plan,
    events: createEventBus(),
    logger: options.logger,
    redactor: options.redactor,
    secrets,
    signal: options.signal ?? new AbortController().signal,
    state: {
      get: <T>(key: string) => values.get(key) as T | undefined,
      set: (key, value) => void values.set(key, options.redactor.redactValue(value)),
    },
  };
  try {
    return await runPreflight(
      preflightEnvOf(ctx, () => runtime),
      ...(options.checks ? [options.checks] : []),
    );
  } finally {
    await runtime.close();
  }
}
