import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/common/net.js';
import { startPostgresServer, systemBinDir, type PostgresServer } from '../../src/data/postgres/server.js';
import { makeTempDir } from './tmp.js';

export interface TestPostgresOptions {
  /** 18: the embedded PostgreSQL 18 binaries; 15: Debian's system PostgreSQL (pg_config --bindir). */
  version?: 18 | 15;
  settings?: Record<string, string | number>;
}

export interface TestPostgres extends PostgresServer {
  /** Stops the server and removes its files. */
  close(): Promise<void>;
}

/** Starts a throw-away PostgreSQL server on a free loopback port. Call close() in afterAll. */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const tmp = makeTempDir('handoff-pg-');
  // mkdtemp makes the directory 0700; as root the server runs as `postgres`, which must reach it.
  fs.chmodSync(tmp.dir, 0o755);
  const version = options.version ?? 18;
  let binDir: string | undefined;
  if (version === 15) {
    const dir = systemBinDir();
    if (!dir) throw new Error('PostgreSQL 15 server binaries are not installed (apt-get install postgresql-15)');
    binDir = dir;
  }
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
