/**
 * `handoff demo`: two local sites (an embedded PostgreSQL 18 server and the demo service each), the
 * router in front, a load with a ledger through it, and the demo plan run through every stage by the
 * real engine. Then the proof: the ledger against the final writer, source and target compared, the
 * audit trail verified, the report written. Everything started is recorded in the process registry
 * and stopped at the end (or on SIGINT/SIGTERM), unless `keep`.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { keyFingerprint } from '../audit/keys.js';
import { signerFromEnv } from '../audit/signer.js';
import { readStateAuditHead } from '../audit/state-head.js';
import { verifyAuditTrail } from '../audit/verify.js';
import { openProcessRegistry, reapOrphans, stopChildrenOnExit } from '../common/children.js';
import { HandoffError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { freePort, sleep } from '../common/net.js';
import type { Redactor } from '../common/redact.js';
import { parseTableName } from '../data/postgres/connect.js';
import { verifyTables } from '../data/postgres/verify/index.js';
import { routerStatsOverHttp } from '../analysis/providers/router-stats.js';
import type { RunOutcome } from '../engine/executor.js';
import { createRuntime } from '../engine/runtime.js';
import { pauseOrAbort } from '../engine/manage.js';
import { openStore } from '../store/store.js';
import type { EngineEnv } from '../engine/run-session.js';
import { startRun } from '../engine/start.js';
import { loadPlanFile } from '../plan/load.js';
import { createLocalPlatform } from '../platforms/local/local-platform.js';
import { DEMO_ENV, DEMO_PLAN_NAME, DEMO_SERVICE_PRIORITY, demoPlanText } from './demo-plan.js';
import { startDemoCredentials, type DemoCredentials } from './demo-credentials.js';
import { createDemoProgress } from './demo-progress.js';
import { startDemoRouter, type DemoRouter } from './demo-router.js';
import { startDemoDatabases, type DemoDatabases } from './demo-sites.js';
import { serviceCommand } from './service-command.js';
import { checkLedger, type LedgerCheck } from './load/ledger.js';
import type { startLoad } from './load/generator.js';
import { loadBoundMs } from './load/generator.js';
import { startLoadInWorker } from './load/worker.js';
import { BASELINE_STAGE, WARMUP_STAGE, baselineWindow, controlWindow } from './load/client-latency.js';
import { cpuPerRequest, readCpu } from './process-cpu.js';
import { machineCpuTracker } from './machine-cpu.js';
import { reconcile } from './reconcile.js';
import type { ClientTrafficEvent } from '../report/events.js';
import { clientWritePause, summarize } from './summarize.js';
import { DEMO_TABLES } from './service/schema.js';
import type { DemoSummary } from './summary.js';
import { endAll } from '../common/cleanup.js';

export interface DemoOptions {
  /**
   * The demo's state directory: the run store, audit trail and reports of every demo run (so
   * `handoff status`, `explain`, `report` and `audit verify` with the same `--state-dir` find them),
   * the shared process registry, and one `demo-<time>/` directory per demo for its own files (plan,
   * logs, site data).
   */
  stateDir: string;
  rate: number;
  bakeMs: number;
  rows: number;
  keep: boolean;
  /** Share of the target's answers that are 5xx (null: a clean run). */
  injectTargetErrors: number | null;
  /** Share of reads mirrored in a shadow stage before the shift (`--shadow`); null or absent: none. */
  shadow?: number | null;
  /** Share of the target's GET answers with one field altered (`--inject-target-diff`). */
  injectTargetDiff?: number | null;
  env: NodeJS.ProcessEnv;
  cwd: string;
  redactor: Redactor;
  logger: Logger;
  actor: string;
  /** Progress lines (stderr). */
  write: (text: string) => void;
  /** Every event as a line (a terminal), or only stages and outcomes. */
  verbose: boolean;
  /**
   * The control (`--control`): this long of the load with nothing migrating, after the warm-up and
   * before the baseline, in windows of `CONTROL_WINDOW_MS` (summary.control); 0 or absent: none.
   */
  controlMs?: number;
}

export interface DemoResult {
  summary: DemoSummary;
  /** With `keep`: where things still run. */
  addresses: Record<string, string> | null;
  /** `sha256:` fingerprint of the key that signed the audit trail, which the demo's verification pinned. */
  auditKey: string;
}

const ACCOUNTS = 50;
/**
 * Many clients that each write rarely, as behind a real service: a client's reads stick to the
 * writer for a while after its own write, so a few busy clients would keep every read on the
 * source and the target's observed share far below the weight asked for.
 */
const LOAD_CLIENTS = 2000;
/**
 * Requests the clients keep in flight at most: 1,000 per second through a 300 ms hold and 10 ms
 * answers need about 310. Beyond it an overloaded service shows as requests not sent rather than
 * as a queue of 10 s time-outs.
 */
const MAX_IN_FLIGHT = 512;
/**
 * The load first warms the demo's own cold processes (JIT, connection pools): the rate rises over
 * WARMUP_RAMP_MS and runs at full rate until WARMUP_MS. Those requests count as offered and sent
 * but in no stage: a production service is warm before anyone migrates it.
 */
const WARMUP_RAMP_MS = 3000;
const WARMUP_MS = 6000;
/**
 * Then BASELINE_WINDOWS windows of this long at full rate before the run starts, the quieter of
 * which is the clients' baseline: on a shared machine one stall of a fifth of a second in a 5 s
 * window put its p99 at 164 ms (its p50 3 ms) and made every stage's budget 328 ms instead of 110;
 * a baseline is what the service does undisturbed, and the budget must not widen by chance.
 */
const BASELINE_MS = 5000;
const BASELINE_WINDOWS = 2;
/**
 * The control's windows (`--control`): as long as a short stage of a run at a million orders, so a
 * window's p99 is judged over as many requests as a stage's.
 */
export const CONTROL_WINDOW_MS = 30_000;

function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..+$/, '');
}

async function ledgerOn(url: string, load: ReturnType<typeof startLoad>): Promise<LedgerCheck> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a connection lost mid-query is reported by the query that fails
  await client.connect();
  try {
    return await checkLedger(load.ledger, client, ACCOUNTS, { onlyWriter: true });
  } finally {
    await client.end();
  }
}

/** Aborts an unfinished run of the demo's plan whose executor is gone (an interrupted demo). */
async function abortOrphanedDemoRun(options: DemoOptions): Promise<string | null> {
  const store = openStore({ stateDir: options.stateDir, create: false, redactor: options.redactor });
  const orphan = store?.runs.findUnfinished(DEMO_PLAN_NAME);
  store?.close();
  if (!orphan) return null;
  const result = await pauseOrAbort(
    {
      stateDir: options.stateDir,
      env: options.env,
      cwd: options.cwd,
      redactor: options.redactor,
      logger: options.logger,
      actor: options.actor,
    },
    orphan.id,
    'abort',
  ).catch(() => null);
  return result?.completed ? orphan.id : null;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  let load: ReturnType<typeof startLoad> | null = null;
  // The machine's busy and stolen cores per stage, beside the clients' latency per stage (summary.cpu.machine).
  const machine = machineCpuTracker();
  const progress = createDemoProgress(options.write, options.verbose, (stage) => {
    load?.setStage(stage);
    if (load) machine.mark(stage);
  });
  fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const registryFile = path.join(options.stateDir, 'processes.json');
  const reaped = await reapOrphans(registryFile);
  if (reaped.length > 0)
    progress.note(
      `ended ${reaped.length} processes an earlier demo left behind (${reaped.map((r) => r.name).join(', ')})`,
    );
  const registry = openProcessRegistry(registryFile);
  let interrupted: NodeJS.Signals | null = null;
  const removeHandlers = stopChildrenOnExit(registry, (signal) => {
    interrupted = signal;
    progress.note(`${signal}: stopping every process the demo started`);
  });

  // An earlier demo that was interrupted (its processes just ended above) may have left its run
  // unfinished; its servers are gone, so nothing can resume it, and it would refuse this demo's plan.
  const orphan = await abortOrphanedDemoRun(options);
  if (orphan) progress.note(`aborted run ${orphan}, left unfinished by an interrupted demo (its servers are gone)`);

  // The demo's own files (plan, logs, site data) in a fresh directory per demo; the run itself is
  // kept in the state directory, where every other command looks.
  const runDir = path.join(options.stateDir, `demo-${stamp()}`);
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  progress.note(`state directory ${options.stateDir} (this demo's files in ${path.basename(runDir)}/)`);
  let dbs: DemoDatabases | null = null;
  let credentials: DemoCredentials | null = null;
  let router: DemoRouter | null = null;
  let clientTraffic: ClientTrafficEvent | null = null;
  let kept = false;
  let failed = false;
  const runtime = createRuntime({ stateDir: runDir, processes: registry });
  try {
    progress.note('starting two PostgreSQL 18 servers (source and target)');
    dbs = await startDemoDatabases({
      dir: runDir,
      registry,
      redactor: options.redactor,
      orders: options.rows,
      accounts: ACCOUNTS,
    });
    // The secret delivery of the blue/green rotation: credentials files the services follow.
    credentials = startDemoCredentials(dbs, progress.note);
    const [sourcePort, targetPort, routerPort, adminPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const planFile = path.join(runDir, 'plan.yaml');
    const tokenFile = path.join(runDir, 'router-token');
    const service = serviceCommand();
    fs.writeFileSync(
      planFile,
      demoPlanText({
        serviceCommand: service.command,
        serviceArgs: service.args,
        sourcePort,
        targetPort,
        routerPort,
        adminPort,
        bakeMs: options.bakeMs,
        injectErrors: options.injectTargetErrors === null ? null : `target:${options.injectTargetErrors}`,
        shadow: options.shadow ?? null,
        injectDiffs: typeof options.injectTargetDiff === 'number' ? `target:${options.injectTargetDiff}` : null,
        envNames: DEMO_ENV,
        tokenFile: path.basename(tokenFile),
        rotation: credentials.plan,
      }),
      { mode: 0o600 },
    );
    const env: NodeJS.ProcessEnv = {
      ...options.env,
      [DEMO_ENV.sourceShop]: dbs.source.shopUrl,
      [DEMO_ENV.sourceApp]: dbs.source.appUrl,
      [DEMO_ENV.targetShop]: dbs.target.shopUrl,
      [DEMO_ENV.targetApp]: dbs.target.appUrl,
      ...credentials.env,
    };
    const loaded = loadPlanFile(planFile);
    const processes = loaded.plan.spec.workloads?.processes ?? [];

    progress.note('starting the demo service on the source site');
    const ctx = { runId: 'demo', logger: options.logger, signal: new AbortController().signal };
    await createLocalPlatform({
      site: 'source',
      stateDir: runDir,
      processes,
      endpoint: `http://127.0.0.1:${sourcePort}`,
      databases: { shop: dbs.source.shopUrl, app: dbs.source.appUrl },
      registry,
    }).provision(ctx);

    progress.note('starting the router');
    router = await startDemoRouter({
      listenPort: routerPort,
      adminPort,
      sourceUrl: `http://127.0.0.1:${sourcePort}`,
      targetUrl: `http://127.0.0.1:${targetPort}`,
      tokenFile,
      logFile: path.join(runDir, 'router.log'),
      registry,
      redactor: options.redactor,
      priority: DEMO_SERVICE_PRIORITY,
    });
    if (router.priorityRefused)
      progress.note(
        `the router runs at the default CPU priority, not ${DEMO_SERVICE_PRIORITY}: ${router.priorityRefused}`,
      );

    progress.note(`starting the load: ${options.rate} requests per second through ${router.proxyUrl}`);
    const controlMs = Math.max(0, options.controlMs ?? 0);
    const maxDurationMs = loadBoundMs(options.rows) + controlMs;
    const loadStarted = Date.now();
    const cpuBefore = readCpu(registry);
    const routerToken = fs.readFileSync(tokenFile, 'utf8').trim();
    const routerStats = routerStatsOverHttp(
      { adminUrl: router.adminUrl, token: routerToken },
      { redactor: options.redactor },
    );
    const maxRequests = Math.ceil((options.rate * maxDurationMs) / 1000);
    // In a worker thread: the engine's synchronous moments in this thread must not stall the clients.
    const worker = startLoadInWorker({
      baseUrl: router.proxyUrl,
      rate: options.rate,
      accounts: ACCOUNTS,
      clients: LOAD_CLIENTS,
      maxInFlight: MAX_IN_FLIGHT,
      maxRequests,
      maxDurationMs,
      rampMs: WARMUP_RAMP_MS,
      initialStage: WARMUP_STAGE,
    });
    load = worker;
    machine.mark(WARMUP_STAGE);
    // The worker's own start-up (loading its modules) is not part of the warm-up; bounded.
    let readyTimer: NodeJS.Timeout | undefined;
    await Promise.race([worker.ready, new Promise((resolve) => (readyTimer = setTimeout(resolve, 30_000)))]);
    clearTimeout(readyTimer);
    progress.note(`warming up for ${WARMUP_MS / 1000} s (the rate rises over ${WARMUP_RAMP_MS / 1000} s)`);
    await sleep(WARMUP_MS);
    if (controlMs > 0) {
      const windows = Math.ceil(controlMs / CONTROL_WINDOW_MS);
      progress.note(
        `the control: ${(controlMs / 1000).toFixed(0)} s of the load with nothing migrating, in ${windows} ${windows === 1 ? 'window' : 'windows'}`,
      );
      for (let n = 1, left = controlMs; left > 0; n++, left -= CONTROL_WINDOW_MS) {
        load.setStage(controlWindow(n));
        machine.mark(controlWindow(n));
        await sleep(Math.min(CONTROL_WINDOW_MS, left));
      }
    }
    // The clients' baseline: the warm service under load before the run starts (latency.baseline).
    progress.note(
      `measuring the baseline before the run starts: ${BASELINE_WINDOWS} windows of ${BASELINE_MS / 1000} s, the quieter counts`,
    );
    for (let n = 1; n <= BASELINE_WINDOWS; n++) {
      load.setStage(baselineWindow(n));
      machine.mark(BASELINE_STAGE);
      await sleep(BASELINE_MS);
    }

    const engine: EngineEnv = {
      stateDir: options.stateDir,
      env,
      cwd: runDir,
      redactor: options.redactor,
      logger: options.logger,
      actor: options.actor,
      observe: (events) => {
        progress.observe(events);
        credentials?.observe(events);
        // The run resumes after the load stopped: what the clients counted goes into its trail, for the report.
        if (clientTraffic) events.emit('client-traffic', clientTraffic, { actor: 'demo', subject: 'clients' });
      },
      runtime,
    };
    // Through bake with the load running; then the load stops, so finalize seals a quiet pair of databases.
    let outcome: RunOutcome = await startRun(engine, loaded, 'bake');
    await credentials.measureSessions(dbs.target.shopUrl);
    progress.note('stopping the load');
    const stats = await load.stop();
    machine.mark(null);
    const loadMs = Date.now() - loadStarted;
    const machineCpu = machine.result();
    const cpu = {
      ...cpuPerRequest(cpuBefore, readCpu(registry), stats.total),
      ...(machineCpu ? { machine: machineCpu } : {}),
    };
    const reconciliation = reconcile(stats, await routerStats().catch(() => null));
    clientTraffic = {
      ...reconciliation.clients,
      routerRequests: reconciliation.router.requests,
      routerErrors: reconciliation.router.errors,
      notes: reconciliation.notes,
      // The cutover is over (the run stopped after the bake): the report shows the pause the clients felt.
      writePauseMs: clientWritePause(progress.facts, load),
    };
    progress.note(
      `load stopped: ${stats.total} of ${stats.offered} requests sent in ${(loadMs / 1000).toFixed(1)} s, ${stats.failed} failed, ${stats.notSent} not sent (too many in flight)`,
    );
    const throughBake = outcome.run.state === 'paused' && outcome.completed;
    if (throughBake) outcome = await startRun(engine, loaded, null);

    const succeeded = outcome.run.state === 'succeeded';
    const rolledBack = outcome.run.state === 'rolled-back';
    progress.note(`checking the ledger on the ${succeeded ? 'target' : 'source'} (the final writer)`);
    const ledger = await ledgerOn(succeeded ? dbs.target.shopUrl : dbs.source.shopUrl, load);

    let verification = progress.facts.verification ?? { rowsCompared: 0, identical: false };
    if (succeeded) {
      progress.note('comparing every table of the source and the target');
      const report = await verifyTables({
        source: dbs.source.shopUrl,
        target: dbs.target.shopUrl,
        tables: DEMO_TABLES.map((t) => parseTableName(t)),
        chunkRows: 2000,
        redactor: options.redactor,
      });
      verification = { rowsCompared: report.rowsCompared, identical: report.identical };
    }
    // Pinned to the key the engine signed with (the user's key directory), not the copy in the state directory.
    const signingKey = signerFromEnv(env, options.cwd).publicKey;
    const head = readStateAuditHead(options.stateDir);
    const audit = verifyAuditTrail(options.stateDir, {
      pin: { key: signingKey },
      ...(head ? { expectedHead: head } : {}),
    });
    const auditKey = keyFingerprint(signingKey);
    const reportFile = path.join(options.stateDir, 'reports', `${outcome.run.id}.html`);
    const summary = summarize({
      outcome,
      stats,
      load,
      loadMs,
      ledger,
      verification,
      audit,
      reportFile,
      stateDir: options.stateDir,
      facts: progress.facts,
      cpu,
      reconciliation,
      injected: options.injectTargetErrors !== null,
      rolledBack,
      credentials: await credentials.summary(dbs.target.shopUrl),
    });
    progress.note(summary.ok ? 'demo ok' : 'demo NOT ok');

    if (options.keep) {
      kept = true;
      removeHandlers();
      credentials.keep();
      return {
        summary,
        auditKey,
        addresses: {
          router: router.proxyUrl,
          routerAdmin: router.adminUrl,
          routerTokenFile: tokenFile,
          source: `http://127.0.0.1:${sourcePort}`,
          target: `http://127.0.0.1:${targetPort}`,
          sourcePostgres: `127.0.0.1:${dbs.source.server.port}`,
          targetPostgres: `127.0.0.1:${dbs.target.server.port}`,
          processes: registryFile,
          credentialsDir: credentials.dir,
        },
      };
    }
    return { summary, addresses: null, auditKey };
  } catch (error) {
    failed = true;
    // Stopped by a signal: what failed then (a server ended under a running query) is the stop's
    // doing, not a fault of the demo's; say what happened instead.
    if (interrupted !== null)
      throw new HandoffError('run.failed', `stopped by ${interrupted} before the demo finished`, { cause: error });
    throw error;
  } finally {
    if (!kept) {
      // Every part is ended even when one before it fails to stop (the load worker's stop throws
      // again here after it failed above); a failure here is thrown only when nothing else was.
      const ended = endAll([
        () => load?.stop(),
        () => runtime.close(),
        () => router?.stop(),
        () => registry.stopAll(10_000),
        () => dbs?.stop({ removeData: true }),
        () => credentials?.close(),
        () => removeHandlers(),
      ]);
      if (failed) await ended.catch(() => undefined);
      else await ended;
    }
  }
}
