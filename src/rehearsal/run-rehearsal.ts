/**
 * A rehearsal (issue 13): the demo's two real sites with every network path through the fault
 * proxy, the demo's load recording its history, the real executor as a child process (`handoff run
 * --until bake` under load, then `handoff resume` for finalize on quiet databases, as the crash test
 * does: writes after finalize would make the sites differ by design), the fault schedule following
 * the executor's trail, and at the end the invariants and each fault's outcome. The plan's
 * `rollback.shiftGate` is `hold`: a shift gate failing under a fault moves the reads back on the
 * source and holds the run, and the runner resumes it once the faults in place have cleared. Writes
 * `<stateDir>/rehearsal/result.json` (a RehearsalResult), `history.jsonl` and the report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { openProcessRegistry, reapOrphans, stopChildrenOnExit } from '../common/children.js';
import { endExecutorAndServices } from './end-processes.js';
import { InputError } from '../common/errors.js';
import { sleep } from '../common/net.js';
import type { Redactor } from '../common/redact.js';
import { selfCommand } from '../demo/demo-router.js';
import { DEMO_PLAN_NAME } from '../demo/demo-plan.js';
import { startLoad } from '../demo/load/generator.js';
import { serviceCommand } from '../demo/service-command.js';
import { loadPlanFile } from '../plan/load.js';
import type { RehearsalFault } from '../plan/schema.js';
import { resolveSecrets } from '../plan/secrets.js';
import { writeRehearsalReport } from '../report/rehearsal-report.js';
import { openStore } from '../store/store.js';
import { violatedInvariants } from './check/invariants.js';
import { startRehearsalExecutor, type ExecutorEnd, type RehearsalExecutor } from './executor.js';
import { createFaultEnv } from './fault-env.js';
import { judgeFaults } from './judge-faults.js';
import { judgeRun } from './judge-run.js';
import type { ActiveFault, FaultEnvironment, RehearsalResult } from './faults/types.js';
import { createHistoryFile, readHistory } from './history.js';
import { bakeStageMsFor, createFaultSchedule, type ScheduledFault } from './schedule.js';
import { ACCOUNTS, startRehearsalSites, type RehearsalSites } from './sites.js';

export type InjectFault = (fault: RehearsalFault, env: FaultEnvironment, signal?: AbortSignal) => Promise<ActiveFault>;

export interface RehearsalOptions {
  stateDir: string;
  faults: readonly RehearsalFault[];
  rows: number;
  bakeMs: number;
  /** Requests per second of the load. */
  rate: number;
  /** Extra environment for the services and the executor (the broken variant's switch). */
  extraEnv?: Record<string, string>;
  redactor: Redactor;
  logger: Logger;
  /** Progress lines (stderr). */
  write(text: string): void;
  /** Bound on the run (both executor phases together). Default 15 min. */
  timeoutMs?: number;
}

export interface RehearsalDeps {
  inject: InjectFault;
}

/** The run's end as the store has it. */
export interface RehearsalRun {
  id: string | null;
  state: string | null;
  executors: number;
}

export type RehearsalOutcome = RehearsalResult & { run: RehearsalRun };

const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');

function runRecord(
  stateDir: string,
  redactor: Redactor,
  id: string | null,
): { state: string; reason: string | null } | null {
  if (!id) return null;
  const store = openStore({ stateDir, create: false, redactor });
  if (!store) return null;
  try {
    const run = store.runs.list().find((one) => one.id === id);
    return run ? { state: run.state, reason: run.reason ?? null } : null;
  } finally {
    store.close();
  }
}

function runState(stateDir: string, redactor: Redactor, id: string | null): string | null {
  return runRecord(stateDir, redactor, id)?.state ?? null;
}

/**
 * A run that stopped before its end and can be taken up again: held by the engine itself (a failed
 * shift gate under `rollback.shiftGate: hold`; not a pause at `--until`), or failed in the middle of
 * its rollback (an undo that could not reach a database a fault had taken away: `handoff resume`
 * goes on with the rollback). The reason, or null.
 */
function heldRun(stateDir: string, redactor: Redactor, id: string | null): string | null {
  const run = runRecord(stateDir, redactor, id);
  if (run?.state === 'paused' && !(run.reason ?? '').startsWith('until ')) return run.reason ?? '';
  if (run?.state === 'failed' || run?.state === 'rolling-back') return run.reason ?? run.state;
  return null;
}

/** Resumes of a stopped run at most (each after the faults in place cleared), and the wait for them to clear. */
const MAX_HELD_RESUMES = 3;
const CLEAR_WAIT_MS = 60_000;

function refuseUnfinished(stateDir: string, redactor: Redactor): void {
  const store = openStore({ stateDir, create: false, redactor });
  if (!store) return;
  try {
    const run = store.runs.findUnfinished(DEMO_PLAN_NAME);
    if (run)
      throw new InputError(
        `--state-dir ${stateDir}: run ${run.id} of ${DEMO_PLAN_NAME} is unfinished there (${run.state}); give a fresh state directory or abort it`,
      );
  } finally {
    store.close();
  }
}

export async function runRehearsal(options: RehearsalOptions, deps: RehearsalDeps): Promise<RehearsalOutcome> {
  fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  refuseUnfinished(options.stateDir, options.redactor);
  const outDir = path.join(options.stateDir, 'rehearsal');
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const dir = path.join(options.stateDir, `rehearsal-${stamp()}`);
  const note = (text: string): void => options.write(`rehearse: ${text}\n`);
  // Every process is tracked, and ended on SIGINT or SIGTERM, from the first one started on: the
  // handlers go in before the sites start (initdb, the seed, the services and the router take a while).
  const registryFile = path.join(options.stateDir, 'processes.json');
  const reaped = await reapOrphans(registryFile);
  if (reaped.length > 0)
    note(`ended ${reaped.length} processes an earlier rehearsal left behind (${reaped.map((r) => r.name).join(', ')})`);
  const registry = openProcessRegistry(registryFile);
  const removeHandlers = stopChildrenOnExit(registry, (signal) => {
    note(`${signal}: stopping every process the rehearsal started`);
    // The executor's own children (the target's service) are not this process's: end them too.
    endExecutorAndServices(registry);
  });
  note(`starting the sites (${options.rows} rows) with every network path through the fault proxy`);
  let sites: RehearsalSites;
  try {
    sites = await startRehearsalSites(dir, {
      rows: options.rows,
      bakeMs: options.bakeMs,
      bakeStageMs: bakeStageMsFor(options.faults, options.bakeMs),
      service: serviceCommand(),
      faults: options.faults,
      faultPaths: true,
      // The rehearsal's plan says retry: a failed shift gate moves the reads back and holds the run (resumed below).
      shiftGate: 'hold',
      stateDir: options.stateDir,
      redactor: options.redactor,
      registry,
      ...(options.extraEnv ? { extraEnv: options.extraEnv } : {}),
    });
  } catch (error) {
    // What started before the failure (a server whose database could not be made) is ended here.
    await registry.stopAll(10_000).catch(() => undefined);
    removeHandlers();
    throw error;
  }
  let stopRestarted = async (): Promise<void> => undefined;
  try {
    const historyFile = path.join(outDir, 'history.jsonl');
    const history = createHistoryFile(historyFile);
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const load = startLoad({
      baseUrl: sites.router.proxyUrl,
      rate: options.rate,
      clients: 200,
      accounts: ACCOUNTS,
      maxInFlight: 256,
      maxRequests: 10_000_000,
      maxDurationMs: timeoutMs,
      history,
    });
    const current: { executor: RehearsalExecutor | null } = { executor: null };
    const env = createFaultEnv({
      sites,
      executor: () => current.executor,
      secrets: resolveSecrets(loadPlanFile(sites.planFile), {
        env: { ...process.env, ...sites.env },
        cwd: dir,
        redactor: options.redactor,
      }),
      logger: options.logger,
    });
    stopRestarted = () => env.stopRestarted();
    const schedule = createFaultSchedule(options.faults, {
      inject: (fault, signal) => deps.inject(fault, env, signal),
      onChange: (r) =>
        note(
          r.clearedAt
            ? `cleared ${r.name}`
            : r.injectedAt
              ? `injected ${r.name} (${r.kind}) in ${r.stage}: ${r.detail}`
              : `${r.name}: ${r.error ?? 'not injected'}`,
        ),
    });
    let records: ScheduledFault[] = [];
    let end: ExecutorEnd | null = null;
    let executors = 0;
    try {
      await sleep(2000);
      const started = Date.now();
      const phase = async (first: { run: true } | { resume: string }, until?: string): Promise<ExecutorEnd> => {
        const executor = startRehearsalExecutor({
          handoff: selfCommand(),
          planFile: sites.planFile,
          logFile: path.join(dir, 'executor.log'),
          stateDir: options.stateDir,
          // Where handoff was started: a loader given by a relative name (--import tsx) resolves from there.
          cwd: process.cwd(),
          env: { ...process.env, ...sites.env },
          registry: sites.registry,
          redactor: options.redactor,
          timeoutMs: Math.max(timeoutMs - (Date.now() - started), 1000),
          first,
          ...(until ? { until } : {}),
          onEvent: (event) => {
            schedule.observe(event);
            if (event.type === 'stage-started' && event.stage) {
              note(`stage ${event.stage}`);
              load.setStage(event.stage);
            }
          },
          onNote: note,
        });
        current.executor = executor;
        const ended = await executor.finished;
        executors += ended.started;
        return ended;
      };
      note('running the plan under load until bake');
      end = await phase({ run: true }, 'bake');
      // The plan says retry (rollback.shiftGate: hold): a failed shift gate moved the reads back and held the
      // run; a rollback that stopped at an undo (a database a fault took away) failed the run. As an operator
      // would, wait for the faults in place to clear, then resume (the step runs again, the rollback goes on).
      for (let resumes = 0; resumes < MAX_HELD_RESUMES && end.runId; resumes++) {
        const held = heldRun(options.stateDir, options.redactor, end.runId);
        if (held === null) break;
        note(`the run stopped (${held.split(';')[0] ?? ''}); waiting for the faults in place to clear`);
        const waitUntil = Date.now() + CLEAR_WAIT_MS;
        while (schedule.inPlace().length > 0 && Date.now() < waitUntil) await sleep(200);
        note(`resuming the stopped run ${end.runId}`);
        end = await phase({ resume: end.runId }, 'bake');
      }
      await load.stop();
      if (end.code === 0 && end.runId && runState(options.stateDir, options.redactor, end.runId) === 'paused') {
        note('load stopped; resuming for finalize');
        end = await phase({ resume: end.runId });
      }
    } finally {
      await load.stop();
      history.close();
      records = await schedule.finish();
      await current.executor?.stop();
    }
    const runId = end?.runId ?? null;
    const state = runState(options.stateDir, options.redactor, runId);
    note(`run ${runId ?? '(none)'} ended ${state ?? 'unknown'}; judging the invariants`);
    const ops = readHistory(historyFile);
    const judged = await judgeRun({
      history: ops,
      clients: load.ledger.clients,
      urls: { source: sites.dbs.source.shopUrl, target: sites.dbs.target.shopUrl },
      writer: state === 'succeeded' ? 'target' : 'source',
      compareSites: state !== 'rolled-back',
      stateDir: options.stateDir,
      redactor: options.redactor,
      maxReadLagMs: 1000,
    });
    const faults = judgeFaults(records, options.stateDir, ops);
    const violated = violatedInvariants(judged.invariants);
    const result: RehearsalOutcome = {
      ok: violated.length === 0,
      faults,
      invariants: judged.invariants,
      violated,
      historyFile,
      ...(runId ? { runId } : {}),
      run: { id: runId, state, executors },
    };
    result.reportFiles = writeRehearsalReport(options.stateDir, result, options.redactor);
    if (end && end.code !== 0)
      note(`the executor ended with code ${end.code}: ${end.stderrTail.split('\n').slice(-3).join(' ')}`);
    fs.writeFileSync(path.join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
    return result;
  } finally {
    await stopRestarted();
    await sites.stop();
    removeHandlers();
  }
}
