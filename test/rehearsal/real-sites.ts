/**
 * The demo's two real sites for tests that run the real `handoff` executor as a child process: two
 * embedded PostgreSQL 18 servers (source seeded), the demo service on the source (local platform,
 * recorded in the state directory's process registry, where the executor looks), the router as its
 * own process, and the demo plan written beside them. `stop` ends everything it and the executor
 * started (by the registry's records, never by name).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isAlive, openProcessRegistry, type ProcessRegistry } from '../../src/common/children.js';
import { createLogger } from '../../src/common/logger.js';
import { freePort } from '../../src/common/net.js';
import { createRedactor, type Redactor } from '../../src/common/redact.js';
import { DEMO_ENV, demoPlanText } from '../../src/demo/demo-plan.js';
import { startDemoRouter, type DemoRouter } from '../../src/demo/demo-router.js';
import { startDemoDatabases, type DemoDatabases } from '../../src/demo/demo-sites.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { createLocalPlatform } from '../../src/platforms/local/local-platform.js';
import { repoRoot, tsxLoader } from '../support/cli.js';

export const ACCOUNTS = 50;

export interface RealSites {
  dir: string;
  stateDir: string;
  planFile: string;
  /** The environment the executor needs (the database URLs the plan's fromEnv names). */
  env: Record<string, string>;
  dbs: DemoDatabases;
  router: DemoRouter;
  registry: ProcessRegistry;
  redactor: Redactor;
  stop(): Promise<void>;
}

/** Runs `fn` with process.argv[1] and execArgv as `handoff` from source has them (the router is started as `<self> router`). */
async function asHandoff<T>(fn: () => Promise<T>): Promise<T> {
  const argv1 = process.argv[1];
  const execArgv = [...process.execArgv];
  process.argv[1] = path.join(repoRoot, 'src', 'cli', 'entry.ts');
  process.execArgv.splice(0, process.execArgv.length, '--import', tsxLoader);
  try {
    return await fn();
  } finally {
    if (argv1 !== undefined) process.argv[1] = argv1;
    process.execArgv.splice(0, process.execArgv.length, ...execArgv);
  }
}

export async function startRealSites(dir: string, options: { rows: number; bakeMs: number }): Promise<RealSites> {
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const registry = openProcessRegistry(path.join(stateDir, 'processes.json'));
  const redactor = createRedactor();
  const dbs = await startDemoDatabases({ dir, registry, redactor, orders: options.rows, accounts: ACCOUNTS });
  let router: DemoRouter | null = null;
  const stop = async (): Promise<void> => {
    await router?.stop();
    // The executor's children (the target's service) outlive a killed executor: end them by record.
    for (const record of registry.records()) {
      if (record.name.startsWith('postgres-') || !isAlive(record.pid)) continue;
      process.kill(record.pid, 'SIGKILL');
      registry.untrack(record.pid);
    }
    await registry.stopAll(10_000);
    await dbs.stop({ removeData: true });
  };
  try {
    const [sourcePort, targetPort, routerPort, adminPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const planFile = path.join(dir, 'plan.yaml');
    const tokenFile = path.join(dir, 'router-token');
    fs.writeFileSync(
      planFile,
      demoPlanText({
        serviceCommand: process.execPath,
        serviceArgs: ['--import', tsxLoader, path.join(repoRoot, 'src', 'demo', 'service', 'main.ts')],
        sourcePort,
        targetPort,
        routerPort,
        adminPort,
        bakeMs: options.bakeMs,
        injectErrors: null,
        envNames: DEMO_ENV,
        tokenFile: path.basename(tokenFile),
      }),
      { mode: 0o600 },
    );
    const loaded = loadPlanFile(planFile);
    await createLocalPlatform({
      site: 'source',
      stateDir,
      processes: loaded.plan.spec.workloads?.processes ?? [],
      endpoint: `http://127.0.0.1:${sourcePort}`,
      databases: { shop: dbs.source.shopUrl, app: dbs.source.appUrl },
      registry,
    }).provision({ runId: 'test', logger: createLogger({ redactor, level: 'warn' }) });
    router = await asHandoff(() =>
      startDemoRouter({
        listenPort: routerPort,
        adminPort,
        sourceUrl: `http://127.0.0.1:${sourcePort}`,
        targetUrl: `http://127.0.0.1:${targetPort}`,
        tokenFile,
        logFile: path.join(dir, 'router.log'),
        registry,
        redactor,
      }),
    );
    return {
      dir,
      stateDir,
      planFile,
      env: {
        [DEMO_ENV.sourceShop]: dbs.source.shopUrl,
        [DEMO_ENV.sourceApp]: dbs.source.appUrl,
        [DEMO_ENV.targetShop]: dbs.target.shopUrl,
        [DEMO_ENV.targetApp]: dbs.target.appUrl,
      },
      dbs,
      router,
      registry,
      redactor,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
