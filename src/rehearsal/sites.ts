/**
 * The demo's two real sites for a rehearsal (and for tests that run the real `handoff` executor as a
 * child process): two embedded PostgreSQL 18 servers (source seeded), the demo service on the source
 * (local platform, recorded in the state directory's process registry, where the executor looks),
 * the router as its own process, and the demo plan written beside them (with the rehearsal's faults
 * in `spec.rehearsal`). With `faultPaths`, every network path goes through the fault proxy (in this
 * process): see network-paths.ts. `stop` ends everything it and the executor started (by the
 * registry's records, never by name).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, openProcessRegistry, type ProcessRegistry } from '../common/children.js';
import { createLogger } from '../common/logger.js';
import { freePort } from '../common/net.js';
import { createRedactor, type Redactor } from '../common/redact.js';
import { DEMO_ENV, DEMO_SERVICE_PRIORITY, demoPlanText } from '../demo/demo-plan.js';
import { startDemoRouter, type DemoRouter } from '../demo/demo-router.js';
import { startDemoDatabases, type DemoDatabases } from '../demo/demo-sites.js';
import { loadPlanFile } from '../plan/load.js';
import type { RehearsalFault } from '../plan/schema.js';
import { createLocalPlatform } from '../platforms/local/local-platform.js';
import type { FaultProxy } from '../faultproxy/fault-proxy.js';
import { startNetworkPaths, type NetworkPaths } from './network-paths.js';
import { createServiceCredentials, type ServiceCredentials } from './service-credentials.js';
import type { HttpFaultShim, NetworkPath, SiteName } from './faults/types.js';

export const ACCOUNTS = 50;

/** How to run the demo service: node, its flags (the tsx loader from source), the entry file. */
export interface ServiceCommand {
  command: string;
  args: string[];
}

export interface RehearsalSitesOptions {
  rows: number;
  bakeMs: number;
  /** The bake stage's own bake (default bakeMs). */
  bakeStageMs?: number;
  service: ServiceCommand;
  /** The faults written into the plan's `spec.rehearsal` (the runner schedules them). */
  faults?: readonly RehearsalFault[];
  /** Put the fault proxy on every network path (default false: direct connections). */
  faultPaths?: boolean;
  /** Extra environment for the services and the executor (test-only switches). */
  extraEnv?: Record<string, string>;
  redactor?: Redactor;
  /** The state directory the executor is given (default `<dir>/state`). */
  stateDir?: string;
  /** The plan's `spec.rollback.shiftGate` (a rehearsal: hold, then the runner resumes); default rollback. */
  shiftGate?: 'rollback' | 'hold';
  /**
   * The registry to track every process in (default: one opened on `<stateDir>/processes.json`).
   * Given, the caller can end them on a signal from the first one started on.
   */
  registry?: ProcessRegistry;
}

export interface RehearsalSites {
  dir: string;
  stateDir: string;
  planFile: string;
  /** The environment the executor needs (the database URLs the plan's fromEnv names), through the fault proxy when there is one. */
  env: Record<string, string>;
  dbs: DemoDatabases;
  router: DemoRouter;
  registry: ProcessRegistry;
  redactor: Redactor;
  faultProxy?: FaultProxy;
  proxyFor: Partial<Record<NetworkPath, string>>;
  httpShim: Partial<Record<SiteName, HttpFaultShim>>;
  /** The services' credentials files (DATABASE_URL_FILE), which a password rotation rewrites. */
  credentials: ServiceCredentials;
  /** The plan's services on a site, provisioned again (after a kill): the local platform starts what is not running. */
  provisionService(site: 'source' | 'target'): Promise<void>;
  stop(): Promise<void>;
}

export async function startRehearsalSites(dir: string, options: RehearsalSitesOptions): Promise<RehearsalSites> {
  const stateDir = options.stateDir ?? path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const registry = options.registry ?? openProcessRegistry(path.join(stateDir, 'processes.json'));
  const redactor = options.redactor ?? createRedactor();
  const dbs = await startDemoDatabases({ dir, registry, redactor, orders: options.rows, accounts: ACCOUNTS });
  let router: DemoRouter | null = null;
  let paths: NetworkPaths | null = null;
  let credentials: ServiceCredentials | null = null;
  const stop = async (): Promise<void> => {
    await router?.stop();
    // The executor's children (the target's service) outlive a killed executor: end them by record.
    for (const record of registry.records()) {
      if (record.name.startsWith('postgres-') || !isAlive(record.pid)) continue;
      try {
        process.kill(record.pid, 'SIGCONT');
        process.kill(record.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      registry.untrack(record.pid);
    }
    try {
      await registry.stopAll(10_000);
      await paths?.close();
    } finally {
      // The services are stopped (or could not be): their credentials go, whatever failed.
      credentials?.close();
      await dbs.stop({ removeData: true });
    }
  };
  try {
    const [sourcePort, targetPort, routerPort, adminPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    paths = await startNetworkPaths({
      enabled: options.faultPaths ?? false,
      dbs,
      services: { source: `127.0.0.1:${sourcePort}`, target: `127.0.0.1:${targetPort}` },
    });
    // The services read their connection string from a file (through the fault proxy when there is one).
    credentials = createServiceCredentials(
      { source: paths.databases.source.app, target: paths.databases.target.app },
      { redactor },
    );
    const planFile = path.join(dir, 'plan.yaml');
    const tokenFile = path.join(dir, 'router-token');
    const faults = options.faults ?? [];
    const rehearsal = faults.length > 0 ? `  rehearsal: ${JSON.stringify({ faults })}\n` : '';
    fs.writeFileSync(
      planFile,
      demoPlanText({
        serviceCommand: options.service.command,
        serviceArgs: options.service.args,
        sourcePort,
        targetPort,
        routerPort,
        adminPort,
        bakeMs: options.bakeMs,
        ...(options.bakeStageMs !== undefined ? { bakeStageMs: options.bakeStageMs } : {}),
        injectErrors: null,
        envNames: DEMO_ENV,
        tokenFile: path.basename(tokenFile),
        credentialsDir: credentials.dir,
        ...(options.shiftGate ? { shiftGate: options.shiftGate } : {}),
      }) + rehearsal,
      { mode: 0o600 },
    );
    const loaded = loadPlanFile(planFile);
    const databases = paths.databases;
    const provisionService = async (site: 'source' | 'target'): Promise<void> => {
      await createLocalPlatform({
        site,
        stateDir,
        processes: loaded.plan.spec.workloads?.processes ?? [],
        endpoint: `http://127.0.0.1:${site === 'source' ? sourcePort : targetPort}`,
        databases: databases[site],
        registry,
        env: { ...process.env, ...options.extraEnv },
      }).provision({ runId: 'rehearsal', logger: createLogger({ redactor, level: 'warn' }) });
    };
    await provisionService('source');
    router = await startDemoRouter({
      listenPort: routerPort,
      adminPort,
      sourceUrl: paths.routerUpstream.source,
      targetUrl: paths.routerUpstream.target,
      tokenFile,
      logFile: path.join(dir, 'router.log'),
      registry,
      redactor,
      priority: DEMO_SERVICE_PRIORITY,
    });
    if (router.priorityRefused)
      createLogger({ redactor, level: 'warn' }).warn('the router runs at the default CPU priority', {
        priority: DEMO_SERVICE_PRIORITY,
        reason: router.priorityRefused,
      });
    return {
      dir,
      stateDir,
      planFile,
      env: {
        ...options.extraEnv,
        [DEMO_ENV.sourceShop]: databases.source.shop,
        [DEMO_ENV.sourceApp]: databases.source.app,
        [DEMO_ENV.targetShop]: databases.target.shop,
        [DEMO_ENV.targetApp]: databases.target.app,
      },
      dbs,
      router,
      registry,
      redactor,
      ...(paths.faultProxy ? { faultProxy: paths.faultProxy } : {}),
      proxyFor: paths.proxyFor,
      httpShim: paths.httpShim,
      credentials,
      provisionService,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
