/**
 * The PostgreSQL server starter hands the server's PID over as soon as the server is spawned, before
 * it accepts connections, so a caller can record it where a signal during the start-up finds it
 * (the demo's SIGTERM test, test/demo/demo.test.ts, shows why).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/common/net.js';
import { startPostgresServer } from '../../src/data/postgres/server.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('startPostgresServer', () => {
  it('hands the PID over once, at spawn, before the server is ready', async () => {
    const tmp = makeTempDir('handoff-pg-');
    fs.chmodSync(tmp.dir, 0o755);
    cleanups.push(tmp.cleanup);
    const seen: Array<{ pid: number; running: boolean; ready: boolean }> = [];
    const dataDir = path.join(tmp.dir, 'data');
    const server = await startPostgresServer({
      dataDir,
      port: await freePort(),
      onSpawn: (pid) =>
        seen.push({
          pid,
          running: fs.existsSync(`/proc/${pid}`),
          // The postmaster writes "ready" into postmaster.pid once it accepts connections.
          ready: (() => {
            try {
              return fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').includes('ready');
            } catch {
              return false;
            }
          })(),
        }),
    });
    cleanups.push(() => server.stop({ removeData: true }));
    expect(seen).toEqual([{ pid: server.pid, running: true, ready: false }]);
  });
});
