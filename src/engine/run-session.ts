/**
 * Wiring shared by the run commands: the state store, the audit trail beside it (its head kept in
 * the store), one event bus per run read by the logs and the trail, the stage registry, and the
 * executor. Commands call the functions in start.ts, manage.ts and status.ts, never this directly.
 */
import path from 'node:path';
import { chooseCheckpointSink, type SinkChoice } from '../audit/sink-choice.js';
import { openAuditTrail, type AuditTrail } from '../audit/trail.js';
import { HandoffError } from '../common/errors.js';
import { createEventBus, type EventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import { loadPlanText, type LoadedPlan } from '../plan/load.js';
import type { StageName } from '../plan/schema.js';
import { resolveSecrets } from '../plan/secrets.js';
import type { RunRecord } from '../store/runs.js';
import { openStore, type Store } from '../store/store.js';
import { executeRun, type RunOutcome } from './executor.js';
import { auditEvents, logEvents } from './observers.js';
import { writeRunReport } from '../report/write.js';
import { loadKubernetesSecrets } from './adapters.js';
import { createRuntime, type Runtime } from './runtime.js';
import { defaultRegistry } from './stages/index.js';
import { startRunTelemetry } from './traffic-telemetry.js';
import type { StageDeps, StageRegistry } from './stage.js';

/** What every run operation needs from its caller (the CLI, or a test's child process). */
export interface EngineEnv {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  redactor: Redactor;
  logger: Logger;
  /** Who acts (`--as`, or the OS user); recorded in events. */
  actor: string;
  /** The stages to run; the default registry unless a test passes its own. */
  registry?: StageRegistry;
  lease?: { ttlMs?: number; renewEveryMs?: number };
  /** How often waits poll the store. Default 1 s. */
  pollMs?: number;
  /** More readers of each run's event stream (metrics, a dashboard, tests); called after logs and audit. */
  observe?: (events: EventBus) => void;
  /** The adapters the stages act through; made from the plan for each execution when left out. */
  runtime?: Runtime;
  /** How often the router's statistics are sampled through the run (traffic-telemetry.ts); default and minimum 1 s. */
  telemetryIntervalMs?: number;
  /** Write the run's report (HTML) when an execution ends; on unless false. */
  report?: boolean;
}

/**
 * Opens the trail; `sink` is the run's chosen checkpoint sink (chooseCheckpointSink), else
 * HANDOFF_AUDIT_SINK alone is looked at (commands that do not execute the plan).
 */
export function openAudit(store: Store, env: EngineEnv, choice?: SinkChoice | null): AuditTrail {
  const chosen = choice === undefined ? chooseCheckpointSink({ env: env.env, redactor: env.redactor }) : choice;
  if (chosen?.note) env.logger.info(chosen.note);
  return openAuditTrail({
    stateDir: env.stateDir,
    redactor: env.redactor,
    onAppend: (head) => store.records.setAuditHead(head),
    // The signing key lives in the user's key directory (HANDOFF_KEY_DIR, ~/.config/handoff/keys).
    env: env.env,
    ...(chosen ? { sink: chosen.sink, onSinkError: (message: string) => env.logger.warn(message) } : {}),
  });
}

/**
 * The sink the run's plan names (spec.audit.sink), for the commands that write to the trail without
 * executing the plan (approve, pause, abort): undefined when HANDOFF_AUDIT_SINK is set or the plan
 * names none. Its reference is resolved with the plan's other secrets; when that cannot be done here
 * (this shell lacks the run's variables), a warning says the checkpoints of this command are not sent.
 */
async function planSinkOf(store: Store, env: EngineEnv, runId: string): Promise<SinkChoice | null | undefined> {
  if (env.env.HANDOFF_AUDIT_SINK) return undefined;
  const run = store.runs.get(runId);
  if (!run) return undefined;
  let loaded: LoadedPlan;
  try {
    loaded = loadRunPlan(run);
  } catch {
    return undefined;
  }
  if (loaded.plan.spec.audit?.sink === undefined) return undefined;
  try {
    const secrets = resolveSecrets(loaded, { env: env.env, cwd: path.dirname(run.planFile), redactor: env.redactor });
    await loadKubernetesSecrets(secrets, env.redactor);
    return chooseCheckpointSink({ env: env.env, redactor: env.redactor, plan: { plan: loaded.plan, secrets } });
  } catch (error) {
    env.logger.warn(
      `the plan's spec.audit.sink cannot be used by this command (${(error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')}); its checkpoints are not sent there (set HANDOFF_AUDIT_SINK, or the run's secret references)`,
    );
    return null;
  }
}

/** Runs `fn` with an event bus for the run whose events are logged and audited; closes the trail after. */
export async function withRunEvents<T>(
  store: Store,
  env: EngineEnv,
  runId: string,
  fn: (events: EventBus, trail: AuditTrail) => Promise<T> | T,
  sink?: SinkChoice | null,
): Promise<T> {
  const trail = openAudit(store, env, sink !== undefined ? sink : await planSinkOf(store, env, runId));
  const events = createEventBus({ runId });
  const stopLogs = logEvents(events, env.logger.child({ run: runId }));
  const stopAudit = auditEvents(events, trail);
  env.observe?.(events);
  try {
    return await fn(events, trail);
  } finally {
    stopAudit();
    stopLogs();
    await trail.flush();
    trail.close();
  }
}

/**
 * Opens the store of an existing run; a missing store or run is bad input naming the run.
 * `readOnly`: the caller only reads (see `openStore`).
 */
export function openRun(
  env: EngineEnv,
  runId: string,
  options: { readOnly?: boolean } = {},
): { store: Store; run: RunRecord } {
  const store = openStore({
    stateDir: env.stateDir,
    create: false,
    readOnly: options.readOnly ?? false,
    redactor: env.redactor,
  });
  if (!store) throw new HandoffError('not-found', `there is no run ${runId}: no state store in ${env.stateDir}`);
  const run = store.runs.get(runId);
  if (!run) {
    store.close();
    throw new HandoffError('not-found', `there is no run ${runId} in ${env.stateDir} (handoff status lists the runs)`);
  }
  return { store, run };
}

/** The plan a run started with, loaded again from the text kept in the store. */
export function loadRunPlan(run: RunRecord): LoadedPlan {
  return loadPlanText(run.planText, run.planFile);
}

/**
 * What a registry needs to plan stages without running them (dry run, status): a runtime that makes
 * nothing until a step asks (stages take only the data plane, made without I/O), no checkpoints.
 */
export function planningDeps(env: EngineEnv): StageDeps {
  return { checkpoint: () => {}, runtime: env.runtime ?? createRuntime({ stateDir: env.stateDir }) };
}

export interface ExecuteInput {
  store: Store;
  run: RunRecord;
  loaded: LoadedPlan;
  mode: 'forward' | 'rollback';
  until?: StageName | null;
}

/** Resolves the plan's secrets (registering them with the redactor) and executes the run, audited. */
export async function executeAudited(env: EngineEnv, input: ExecuteInput): Promise<RunOutcome> {
  const { store, run, loaded } = input;
  const secrets = resolveSecrets(loaded, {
    env: env.env,
    cwd: path.dirname(run.planFile),
    redactor: env.redactor,
  });
  // Kubernetes Secret references: read for this execution into memory only (registered with the
  // redactor as they are decoded); what cannot be read is preflight's secret.unreadable.
  await loadKubernetesSecrets(secrets, env.redactor);
  // The checkpoint sink: HANDOFF_AUDIT_SINK, else the plan's spec.audit.sink (its URL resolved and
  // its password registered here, before anything is sent or written).
  const sink = chooseCheckpointSink({ env: env.env, redactor: env.redactor, plan: { plan: loaded.plan, secrets } });
  const runtime = env.runtime ?? createRuntime({ stateDir: env.stateDir });
  const outcome = await withRunEvents(
    store,
    env,
    run.id,
    async (events, trail) => {
      const registry = env.registry ?? defaultRegistry;
      const stages = registry(loaded.plan, { checkpoint: (reason) => void trail.checkpoint(reason), runtime });
      // The router's statistics from the first step to the end (traffic-telemetry.ts); stopped before the router closes.
      const telemetry = startRunTelemetry({
        runId: run.id,
        plan: loaded.plan,
        events,
        logger: env.logger,
        redactor: env.redactor,
        secrets,
        runtime,
        ...(env.telemetryIntervalMs !== undefined ? { intervalMs: env.telemetryIntervalMs } : {}),
      });
      try {
        return await executeRun({
          store,
          runId: run.id,
          plan: loaded.plan,
          stages,
          secrets,
          redactor: env.redactor,
          logger: env.logger,
          events,
          mode: input.mode,
          actor: env.actor,
          ...(input.until !== undefined ? { until: input.until } : {}),
          ...(env.lease ? { lease: env.lease } : {}),
          ...(env.pollMs !== undefined ? { pollMs: env.pollMs } : {}),
        });
      } finally {
        await telemetry?.stop();
        if (!env.runtime) await runtime.close();
      }
    },
    sink,
  );
  if (env.report !== false) {
    try {
      const file = writeRunReport({ stateDir: env.stateDir, runId: run.id, format: 'html', redactor: env.redactor });
      env.logger.info(`report written to ${file}`);
    } catch (error) {
      env.logger.warn('the run report could not be written', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return outcome;
}
