/**
 * The process fault on real processes: a `node -e` loop (SIGSTOP freezes it and clear continues it;
 * SIGKILL kills it and a restart runs, at clear or at once without `for`) and an embedded PostgreSQL
 * server (SIGSTOP freezes a running query and new ones; clear lets them finish).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { sleep } from '../../../src/common/net.js';
import { startPostgresServer, type PostgresServer } from '../../../src/data/postgres/server.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { identify } from '../../../src/rehearsal/faults/proc-tree.js';
import { processInjector } from '../../../src/rehearsal/faults/process.js';
import type { ActiveFault, ProcessTarget } from '../../../src/rehearsal/faults/types.js';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.js';
import { testFaultEnv } from './env.js';

interface Loop {
  child: ChildProcess;
  ticks(): number;
}

const loops: Loop[] = [];

/** A child printing a line every 10 ms. */
function startLoop(): Loop {
  const child = spawn(process.execPath, ['-e', 'let n = 0; setInterval(() => console.log(n++), 10)'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let lines = 0;
  child.stdout?.on('data', (data: Buffer) => (lines += data.toString().split('\n').length - 1));
  const loop = { child, ticks: () => lines };
  loops.push(loop);
  return loop;
}

async function until(condition: () => boolean, boundMs = 5_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${boundMs} ms`);
    await sleep(10);
  }
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

function processFault(target: ProcessTarget, signal: 'SIGSTOP' | 'SIGKILL', extra: Record<string, unknown> = {}) {
  const fault = rehearsalFault.parse({
    kind: 'process',
    name: 'p',
    at: { stage: 'cutover' },
    target,
    signal,
    ...extra,
  });
  if (fault.kind !== 'process') throw new Error('not a process fault');
  return fault;
}

afterEach(() => {
  for (const loop of loops.splice(0)) {
    loop.child.kill('SIGCONT');
    loop.child.kill('SIGKILL');
  }
});

describe('process fault on a node loop', () => {
  it('SIGSTOP freezes the process until clear, then it runs on; a second clear does nothing', async () => {
    const loop = startLoop();
    await until(() => loop.ticks() > 3);
    const active = await processInjector.inject(
      processFault('service-target', 'SIGSTOP'),
      testFaultEnv({ pidOf: (t) => (t === 'service-target' ? loop.child.pid : undefined) }),
    );
    expect(active.detail).toBe(`SIGSTOP pid ${loop.child.pid} (service-target); SIGCONT at clear`);
    await sleep(50);
    // One turn of the event loop's poll phase first: ticks the child wrote just before the signal may
    // still sit in the pipe (after a stall, the sleep's timer runs before they are read).
    await new Promise((resolve) => setImmediate(resolve));
    const frozenAt = loop.ticks();
    await sleep(400);
    expect(loop.ticks()).toBe(frozenAt);
    await active.clear();
    await until(() => loop.ticks() > frozenAt + 3);
    await active.clear();
    expect(exited(loop.child)).toBe(false);
  });

  it('SIGKILL with a for: killed at inject, restarted once at clear (clear twice restarts once)', async () => {
    let current = startLoop();
    let restarts = 0;
    const env = testFaultEnv({
      pidOf: (t) => (t === 'executor' && !exited(current.child) ? current.child.pid : undefined),
      restart: async (t) => {
        expect(t).toBe('executor');
        restarts++;
        current = startLoop();
        await until(() => current.ticks() > 0);
      },
    });
    const first = current;
    await until(() => first.ticks() > 0);
    const active = await processInjector.inject(processFault('executor', 'SIGKILL', { for: '5s' }), env);
    expect(first.child.signalCode ?? (await new Promise((r) => first.child.once('exit', (_c, s) => r(s))))).toBe(
      'SIGKILL',
    );
    expect(active.detail).toBe(`SIGKILL pid ${first.child.pid} (executor); down for 5s, restarted at clear`);
    expect(restarts).toBe(0);
    await Promise.all([active.clear(), active.clear()]);
    await active.clear();
    expect(restarts).toBe(1);
    expect(current).not.toBe(first);
    expect(exited(current.child)).toBe(false);
  });

  it('SIGKILL without a for restarts at once, inside inject; clear does nothing', async () => {
    let current = startLoop();
    const first = current;
    let restarts = 0;
    const env = testFaultEnv({
      pidOf: () => (exited(current.child) ? undefined : current.child.pid),
      restart: async () => {
        restarts++;
        current = startLoop();
      },
    });
    const active = await processInjector.inject(processFault('service-source', 'SIGKILL'), env);
    expect(restarts).toBe(1);
    expect(active.detail).toMatch(/restarted at once/);
    await until(() => exited(first.child));
    await active.clear();
    expect(restarts).toBe(1);
  });

  it('a target without a pid is an InputError naming the target; nothing is signalled', async () => {
    const error = await processInjector
      .inject(processFault('postgres-target', 'SIGSTOP'), testFaultEnv())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffError);
    expect((error as HandoffError).code).toBe('input.invalid');
    expect((error as Error).message).toMatch(/target postgres-target has no running process/);
  });

  it('a failed restart is an AdapterError (retryable), and clear may be tried again', async () => {
    const loop = startLoop();
    let attempts = 0;
    const env = testFaultEnv({
      pidOf: () => loop.child.pid,
      restart: async () => {
        attempts++;
        if (attempts === 1) throw new Error('no room');
      },
    });
    const active = await processInjector.inject(processFault('service-target', 'SIGKILL', { for: '1s' }), env);
    const error = await active.clear().catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('adapter');
    expect((error as HandoffError).retryable).toBe(true);
    await active.clear();
    expect(attempts).toBe(2);
  });
});

describe('process fault on a real PostgreSQL server', () => {
  let postgres: TestPostgres;
  let client: pg.Client;
  let active: ActiveFault | null = null;

  beforeAll(async () => {
    postgres = await startTestPostgres();
    client = new pg.Client({ connectionString: postgres.url(), connectionTimeoutMillis: 10_000 });
    await client.connect();
  }, 60_000);
  let restarted: PostgresServer | null = null;
  afterAll(async () => {
    await active?.clear();
    await client?.end().catch(() => undefined);
    await restarted?.stop();
    await postgres?.close();
  }, 60_000);

  it('SIGSTOP freezes the server (its backends too): a running query waits; SIGCONT at clear lets it finish', async () => {
    // Long enough that the query is still running when the signal lands on a loaded machine.
    const running = client.query<{ n: number }>('SELECT pg_sleep(2), 42 AS n');
    let finished = false;
    void running.then(
      () => (finished = true),
      () => undefined,
    );
    await sleep(50);
    active = await processInjector.inject(
      processFault('postgres-source', 'SIGSTOP'),
      testFaultEnv({ pidOf: (t) => (t === 'postgres-source' ? postgres.pid : undefined) }),
    );
    expect(active.detail).toMatch(
      new RegExp(`^SIGSTOP pid ${postgres.pid} \\(postgres-source\\) and [1-9]\\d* child processes; SIGCONT at clear$`),
    );
    await sleep(1_000);
    expect(finished).toBe(false);
    await active.clear();
    const result = await running;
    expect(result.rows[0]?.n).toBe(42);
    expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  }, 30_000);

  it('SIGKILL kills the postmaster and every backend, so the server starts again on its data directory at clear', async () => {
    await client.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');
    const backends = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const session = client;
    session.on('error', () => undefined);
    let pid: number | undefined = postgres.pid;
    active = await processInjector.inject(
      processFault('postgres-target', 'SIGKILL', { for: '2s' }),
      testFaultEnv({
        pidOf: () => pid,
        restart: async () => {
          restarted = await startPostgresServer({
            dataDir: postgres.dataDir,
            port: postgres.port,
            password: postgres.password,
          });
          pid = restarted.pid;
        },
      }),
    );
    expect(active.detail).toMatch(/^SIGKILL pid \d+ \(postgres-target\) and [1-9]\d* child processes; down for 2s/);
    // Gone, or a zombie no one has reaped yet (not running either way).
    expect(identify(backends as number)).toBeNull();
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await active.clear();
    active = null;
    const after = new pg.Client({ connectionString: postgres.url(), connectionTimeoutMillis: 10_000 });
    await after.connect();
    try {
      expect((await after.query<{ id: number }>('SELECT id FROM kept')).rows).toEqual([{ id: 7 }]);
    } finally {
      await after.end();
    }
  }, 60_000);
});
