import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../common/events.js';
import { HandoffError } from '../common/errors.js';
import { createSilentLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import { openStore, type Store } from '../store/store.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { executeRun } from './executor.js';
import { acquireLease, holderIsDead, newHolderId } from './lease.js';
import { mapSecrets, testPlan } from './testing.js';
import type { Stage } from './stage.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setup(): Store {
  const tmp = makeTempDir('handoff-lease-');
  const store = openStore({ stateDir: path.join(tmp.dir, 'state'), create: true, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  cleanups.push(() => {
    store.close();
    tmp.cleanup();
  });
  store.runs.create({ id: 'r1', planName: 'test-plan', planHash: 'h', planFile: '/p', planText: '', until: null });
  return store;
}

function run(store: Store, stages: Stage[], lease: { ttlMs: number; renewEveryMs: number }) {
  return executeRun({
    store,
    runId: 'r1',
    plan: testPlan(),
    stages,
    secrets: mapSecrets({}),
    redactor: createRedactor(),
    logger: createSilentLogger(),
    events: createEventBus(),
    mode: 'forward',
    pollMs: 20,
    lease,
  });
}

describe('the run lease', () => {
  it('refuses a second executor while the first holds the lease, saying who and until when', async () => {
    const store = setup();
    let release = (): void => {};
    let started = (): void => {};
    const inStep = new Promise<void>((resolve) => (started = resolve));
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [{ name: 'slow', run: () => (started(), new Promise<void>((resolve) => (release = resolve))) }],
      },
    ];
    const first = run(store, stages, { ttlMs: 5_000, renewEveryMs: 1_000 });
    await inStep;
    const error = await run(store, stages, { ttlMs: 5_000, renewEveryMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffError);
    expect((error as HandoffError).code).toBe('lease.held');
    expect((error as HandoffError).message).toMatch(
      /run r1 is being executed by .*\/\d+\/[0-9a-f]+ \(lease epoch 1, held until \d{4}-/,
    );
    release();
    expect((await first).run.state).toBe('succeeded');
    // Released at the end: the next executor does not wait for the expiry.
    expect(store.leases.get('r1')?.expiresAt).toBe(0);
  });

  it('refuses every write of an executor whose expired lease was taken over (a stalled process)', async () => {
    const store = setup();
    let release = (): void => {};
    let started = (): void => {};
    const inStep = new Promise<void>((resolve) => (started = resolve));
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [
          { name: 'stalled', run: () => (started(), new Promise<void>((resolve) => (release = resolve))) },
          { name: 'after', run: () => Promise.reject(new Error('must never run')) },
        ],
      },
    ];
    // No heartbeat beats within the test: like a process stopped with SIGSTOP past its lease.
    const stale = run(store, stages, { ttlMs: 100, renewEveryMs: 60_000 });
    await inStep;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const taker = acquireLease(store, { runId: 'r1', ttlMs: 10_000 });
    expect(taker.fence.epoch).toBe(2);
    release();
    const error = await stale.catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('lease.lost');
    expect(store.steps.get('r1', 'preflight', 'stalled')).toMatchObject({ state: 'intent', epoch: 1 });
    expect(store.steps.get('r1', 'preflight', 'after')).toBeUndefined();
    taker.release();
  });

  it('notices a takeover by its heartbeat and aborts the running step', async () => {
    const store = setup();
    let started = (): void => {};
    const inStep = new Promise<void>((resolve) => (started = resolve));
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [
          {
            name: 'long',
            run: (ctx) =>
              new Promise<void>((_resolve, reject) => {
                started();
                ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true });
              }),
          },
        ],
      },
    ];
    const stale = run(store, stages, { ttlMs: 10_000, renewEveryMs: 30 });
    await inStep;
    store.leases.acquire({ runId: 'r1', holder: 'other', ttlMs: 10_000, canTakeOver: () => true });
    const error = await stale.catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('lease.lost');
    expect(store.steps.get('r1', 'preflight', 'long')?.state).toBe('intent');
  });

  it('knows a holder on this host whose process is gone is dead, and a live or foreign one is not', () => {
    expect(holderIsDead(newHolderId())).toBe(false);
    expect(holderIsDead('some-other-host/1/abc')).toBe(false);
    const [host] = newHolderId().split('/');
    expect(holderIsDead(`${host}/2147483646/abc`)).toBe(true);
  });
});
