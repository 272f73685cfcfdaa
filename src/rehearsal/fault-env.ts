/**
 * The FaultEnvironment the injectors act on, from the rehearsal's sites and executor: the fault
 * proxy and a proxy per network path, the live pid of each process target (the executor; each
 * site's service and PostgreSQL server, by the process registry's records), and how to start each
 * again: the executor is resumed, a service provisioned again by the local platform, a PostgreSQL
 * server started again on its data directory and port. A password-change fault's new password is
 * handed to the services through their credentials files (service-credentials.ts).
 */
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { isAlive } from '../common/children.js';
import { InputError } from '../common/errors.js';
import { DEMO_APP_LOGINS } from '../demo/demo-plan.js';
import { DEMO_TABLES } from '../demo/service/schema.js';
import { startPostgresServer } from '../data/postgres/server.js';
import type { ResolvedSecrets } from '../plan/secrets.js';
import type { RehearsalExecutor } from './executor.js';
import type { FaultEnvironment, ProcessTarget } from './faults/types.js';
import type { RehearsalSites } from './sites.js';

/** The demo servers' settings (src/demo/demo-sites.ts), given again when a killed server starts again. */
const SERVER_SETTINGS = {
  shared_buffers: '256MB',
  max_wal_size: '8GB',
  checkpoint_timeout: '15min',
  max_connections: 100,
  log_min_messages: 'warning',
};

export interface FaultEnvDeps {
  sites: RehearsalSites;
  executor: () => RehearsalExecutor | null;
  secrets: Pick<ResolvedSecrets, 'resolve'>;
  logger: Logger;
}

export interface RehearsalFaultEnv extends FaultEnvironment {
  /** PostgreSQL servers started again by `restart` (the sites' stop does not know them). */
  stopRestarted(): Promise<void>;
}

export function createFaultEnv(deps: FaultEnvDeps): RehearsalFaultEnv {
  const { sites } = deps;
  const restarted: Array<Awaited<ReturnType<typeof startPostgresServer>>> = [];
  const byRecord = (name: (n: string) => boolean): number | undefined =>
    sites.registry
      .records()
      .filter((r) => name(r.name) && isAlive(r.pid))
      .at(-1)?.pid;

  const pidOf = (target: ProcessTarget): number | undefined => {
    switch (target) {
      case 'executor':
        return deps.executor()?.pid();
      case 'service-source':
        return byRecord((n) => n.startsWith('source/'));
      case 'service-target':
        return byRecord((n) => n.startsWith('target/'));
      case 'postgres-source':
        return byRecord((n) => n === 'postgres-source');
      case 'postgres-target':
        return byRecord((n) => n === 'postgres-target');
    }
  };

  const restart = async (target: ProcessTarget): Promise<void> => {
    // The executor's own restart waits for a killed one to be reaped (its pid is alive until then).
    if (target !== 'executor' && pidOf(target) !== undefined) return;
    switch (target) {
      case 'executor': {
        const executor = deps.executor();
        if (!executor) throw new InputError('restart executor: no executor runs in this rehearsal');
        return executor.restart();
      }
      case 'service-source':
      case 'service-target':
        return sites.provisionService(target === 'service-source' ? 'source' : 'target');
      case 'postgres-source':
      case 'postgres-target': {
        const site = target === 'postgres-source' ? 'source' : 'target';
        const old = sites.dbs[site].server;
        for (const record of sites.registry.records())
          if (record.name === target && !isAlive(record.pid)) sites.registry.untrack(record.pid);
        const server = await startPostgresServer({
          dataDir: old.dataDir,
          port: old.port,
          password: old.password,
          settings: SERVER_SETTINGS,
          logFile: path.join(sites.dir, `${site}-pg.restarted.log`),
          onSpawn: (pid) => sites.registry.track(pid, { name: target, port: old.port, stopSignal: 'SIGINT' }),
        });
        restarted.push(server);
        return;
      }
    }
  };

  return {
    ...(sites.faultProxy ? { faultProxy: sites.faultProxy } : {}),
    proxyFor: sites.proxyFor,
    pidOf,
    restart,
    httpShim: sites.httpShim,
    databaseUrl: { source: sites.dbs.source.shopUrl, target: sites.dbs.target.shopUrl },
    // The service's login role (demo_app itself is the NOLOGIN group holding the privileges).
    appRole: DEMO_APP_LOGINS[0],
    tables: DEMO_TABLES,
    resolveSecret: (ref, where) => deps.secrets.resolve(ref as never, where),
    // A rotation is handed to the services as a secret store would: their credentials file is rewritten.
    passwordRotated(rotation) {
      const handed = sites.credentials.rotated(rotation);
      deps.logger.info('password rotation handed to the services', {
        site: rotation.site,
        role: rotation.role,
        handed,
      });
      return Promise.resolve();
    },
    logger: deps.logger,
    async stopRestarted() {
      await Promise.all(
        restarted.map(async (server) => {
          await server.stop();
          sites.registry.untrack(server.pid);
        }),
      );
    },
  };
}
