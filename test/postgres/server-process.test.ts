/**
 * The PostgreSQL server starter hands the server's PID over as soon as the server is spawned, before
 * it accepts connections, so a caller can record it where a signal during the start-up finds it
 * (the demo's SIGTERM test, test/demo/demo.test.ts, shows why). A port taken between the check
 * that it was free and the server's bind is told apart (`PortInUseError`) and another one tried, a
 * bounded number of times; servers started together are all closed when one of them cannot start.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/common/net.js';
import { FREE_PORT_ATTEMPTS, PortInUseError, startPostgresServer } from '../../src/data/postgres/server.js';
import { startTestPostgres, startTestPostgresAll } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';

/** A port held by a plain TCP listener (not PostgreSQL), as another test's server holds one. */
async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const holder = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
}

/** Whether something listens on the loopback port (a connection is accepted). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

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

describe('a port taken before the server binds it', () => {
  it('fails fast with PortInUseError, naming the port, instead of waiting out the start-up bound', async () => {
    const held = await holdPort();
    cleanups.push(held.close);
    const tmp = makeTempDir('handoff-pg-');
    fs.chmodSync(tmp.dir, 0o755);
    cleanups.push(tmp.cleanup);
    const started = Date.now();
    const error = await startPostgresServer({ dataDir: path.join(tmp.dir, 'data'), port: held.port }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).port).toBe(held.port);
    expect(String(error)).toMatch(/Address already in use/);
    // The bound is 30 s; a held port is known as soon as the server exits (about a second).
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('starts on another port, with the password the first attempt set', async () => {
    const held = await holdPort();
    cleanups.push(held.close);
    const picked: number[] = [];
    const server = await startTestPostgres({
      pickPort: async () => {
        const port = picked.length === 0 ? held.port : await freePort();
        picked.push(port);
        return port;
      },
    });
    cleanups.push(() => server.close());
    expect(picked).toHaveLength(2);
    expect(server.port).toBe(picked[1]);
    expect((await server.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('gives up after a bounded number of ports, leaving no server and no files', async () => {
    const held = await holdPort();
    cleanups.push(held.close);
    let attempts = 0;
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('handoff-pg-')));
    const error = await startTestPostgres({
      pickPort: () => {
        attempts++;
        return Promise.resolve(held.port);
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect(attempts).toBe(FREE_PORT_ATTEMPTS);
    // Its temporary directory is gone (other tests' directories may come and go meanwhile).
    const added = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('handoff-pg-') && !before.has(name));
    const ours = added.filter(
      (name) =>
        fs.existsSync(path.join(os.tmpdir(), name, 'data.log')) &&
        fs.readFileSync(path.join(os.tmpdir(), name, 'data.log'), 'utf8').includes(`port ${held.port}`),
    );
    expect(ours).toEqual([]);
  });

  it('servers started together: when one cannot start, the one that did is stopped', async () => {
    const ports: number[] = [];
    const pickPort = async (): Promise<number> => {
      const port = await freePort();
      ports.push(port);
      return port;
    };
    const error = await startTestPostgresAll([{ pickPort }, { pickPort, settings: { no_such_setting_here: 1 } }]).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/no_such_setting_here/);
    expect(ports).toHaveLength(2);
    expect(await listening(ports[0] as number)).toBe(false);
  });
});
