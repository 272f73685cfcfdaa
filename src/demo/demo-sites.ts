/**
 * The demo's two databases: an embedded PostgreSQL 18 server per site on a free port, each recorded
 * in the process registry (stop signal SIGINT: fast shutdown), with database `shop` and the
 * application role `demo_app` (random password). The source is migrated and seeded; the target gets
 * the schema only (as the service's migrations would do before a migration).
 *
 * The application's roles are blue/green (issue 16): `demo_app` is a NOLOGIN group role that holds
 * the privileges (the migration grants to it; the fence revokes from it), `demo_app_blue` logs in
 * (random password, per site) and is live at the start, `demo_app_green` is a NOLOGIN member until
 * the plan's rotation gives it LOGIN and the rotation password (one for both sites, random).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import type { ProcessRegistry } from '../common/children.js';
import type { Redactor } from '../common/redact.js';
import { onFreePort, startPostgresServer, type PostgresServer } from '../data/postgres/server.js';
import { DEMO_APP_LOGINS, DEMO_APP_ROLE } from './demo-plan.js';
import { migrate, seed } from './service/schema.js';

export interface DemoDatabase {
  server: PostgresServer;
  /** The superuser's URL of database `shop` (handoff's data plane). */
  shopUrl: string;
  /** The live application role's URL of database `shop` at the start (demo_app_blue; the service). */
  appUrl: string;
  /** The URL of database `shop` as `role` with `password` (for the rotation's standby role). */
  appUrlFor(role: string, password: string): string;
}

export interface DemoDatabases {
  source: DemoDatabase;
  target: DemoDatabase;
  /** The password the rotation gives the standby role (demo_app_green) on both sites; redacted. */
  rotationPassword: string;
  stop(options?: { removeData?: boolean }): Promise<void>;
}

export interface StartDemoDatabasesOptions {
  dir: string;
  registry: ProcessRegistry;
  redactor: Redactor;
  orders: number;
  accounts: number;
}

/**
 * One attempt to start a site's server on `port`, recorded in the registry as soon as it is spawned
 * (a SIGTERM while it starts up must end it too) and forgotten again when it exits during start-up.
 */
async function startServer(
  name: string,
  site: 'source' | 'target',
  port: number,
  password: string,
  options: StartDemoDatabasesOptions,
): Promise<PostgresServer> {
  let spawned: number | undefined;
  return startPostgresServer({
    dataDir: path.join(options.dir, `${site}-pg`),
    port,
    password,
    onSpawn: (pid) => {
      spawned = pid;
      options.registry.track(pid, { name, port, stopSignal: 'SIGINT' });
    },
    // A small production server's settings, not the toy defaults: with max_wal_size at its 1 GB
    // default, the copy of a million rows made a checkpoint every 17-25 s on the source and the
    // service's commits stalled behind their writes. fsync stays on: acknowledged means durable.
    settings: {
      shared_buffers: '256MB',
      max_wal_size: '8GB',
      checkpoint_timeout: '15min',
      max_connections: 100,
      log_min_messages: 'warning',
    },
  }).catch((error: unknown) => {
    // It exited or was killed during start-up: nothing of it is left to end.
    if (spawned !== undefined) options.registry.untrack(spawned);
    throw error;
  });
}

async function startSite(site: 'source' | 'target', options: StartDemoDatabasesOptions): Promise<DemoDatabase> {
  const password = randomBytes(18).toString('base64url');
  options.redactor.add(password);
  const name = `postgres-${site}`;
  // On another port when this one was taken before the server bound it (the other site's server,
  // or any process, starting at the same moment).
  const server = await onFreePort((port) => startServer(name, site, port, password, options));
  await server.createDatabase('shop');
  const appPassword = randomBytes(18).toString('base64url');
  options.redactor.add(appPassword);
  const [blue, green] = DEMO_APP_LOGINS;
  await server.query(`create role ${DEMO_APP_ROLE} nologin`, [], 'shop');
  await server.query(`create role ${blue} login password '${appPassword}' in role ${DEMO_APP_ROLE}`, [], 'shop');
  await server.query(`create role ${green} nologin in role ${DEMO_APP_ROLE}`, [], 'shop');
  const appUrlFor = (role: string, password: string): string =>
    `postgresql://${role}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/shop`;
  return { server, shopUrl: server.url('shop'), appUrl: appUrlFor(blue, appPassword), appUrlFor };
}

/** Starts both servers (in parallel), migrates both, seeds the source. */
export async function startDemoDatabases(options: StartDemoDatabasesOptions): Promise<DemoDatabases> {
  const started = await Promise.allSettled([startSite('source', options), startSite('target', options)]);
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const stopAll = async (removeData = false): Promise<void> => {
    await Promise.all(
      ok.map(async (db) => {
        await db.server.stop({ removeData });
        options.registry.untrack(db.server.pid);
      }),
    );
  };
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const [source, target] = ok as [DemoDatabase, DemoDatabase];
  try {
    for (const [db, seedIt] of [
      [source, true],
      [target, false],
    ] as const) {
      const client = new pg.Client({ connectionString: db.shopUrl, connectionTimeoutMillis: 10_000 });
      client.on('error', () => undefined); // a connection lost mid-query is reported by the query that fails
      await client.connect();
      try {
        await migrate(client, DEMO_APP_ROLE);
        if (seedIt) await seed(client, { accounts: options.accounts, orders: options.orders });
      } finally {
        await client.end();
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const rotationPassword = randomBytes(18).toString('base64url');
  options.redactor.add(rotationPassword);
  return { source, target, rotationPassword, stop: (o) => stopAll(o?.removeData ?? false) };
}
