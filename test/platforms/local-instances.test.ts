/**
 * The local platform records a replica in instances.json as soon as it runs, before its readiness
 * probe passes: a run stopped during that wait (SIGTERM, a crash) leaves a process that the next
 * run's teardown can still find, and a replica given up on is forgotten again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, openProcessRegistry } from '../../src/common/children.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { sleep } from '../../src/common/net.js';
import { createLocalPlatform, type ProcessWorkload } from '../../src/platforms/local/local-platform.js';
import { makeTempDir } from '../support/tmp.js';

// Listens only after a while: its readiness probe fails until then.
const slowServer = `setTimeout(() => require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1'), Number(process.env.DELAY));
process.on('SIGTERM', () => process.exit(0));`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function site(delayMs: number) {
  const tmp = makeTempDir('handoff-local-instances-');
  const registry = openProcessRegistry(path.join(tmp.dir, 'processes.json'));
  cleanups.push(() => tmp.cleanup());
  cleanups.push(() => registry.stopAll(2000));
  const workload: ProcessWorkload = {
    name: 'web',
    command: process.execPath,
    args: ['-e', slowServer],
    env: { PORT: '{{port}}', DELAY: String(delayMs) },
    replicas: 1,
    readiness: { path: '/', timeout: '20s' },
    stopSignal: 'SIGTERM',
    gracePeriod: '2s',
  };
  const make = () =>
    createLocalPlatform({ site: 'target', stateDir: tmp.dir, processes: [workload], databases: {}, registry });
  const list = path.join(tmp.dir, 'local', 'target', 'instances.json');
  const recorded = (): Array<{ pid: number }> =>
    fs.existsSync(list) ? (JSON.parse(fs.readFileSync(list, 'utf8')) as Array<{ pid: number }>) : [];
  return { make, recorded, registry };
}

describe('the local platform', () => {
  it('records a replica before it is ready, so a later teardown ends it', async () => {
    const { make, recorded } = site(1500);
    const first = make();
    const provisioning = first.provision({ runId: 'r1', logger: createSilentLogger() });
    let ready = false;
    void provisioning.then(() => (ready = true));
    let seen: Array<{ pid: number }> = [];
    for (const deadline = Date.now() + 5000; seen.length === 0 && Date.now() < deadline; await sleep(20))
      seen = recorded();
    // Recorded while its probe still fails (the server listens only after 1.5 s).
    expect(seen).toHaveLength(1);
    expect(ready).toBe(false);
    const pid = seen[0]!.pid;
    await provisioning;
    // A later run (another platform object over the same state) finds it and ends it.
    await make().teardown({ runId: 'r2', logger: createSilentLogger() });
    for (const deadline = Date.now() + 5000; isAlive(pid) && Date.now() < deadline;) await sleep(50);
    expect(isAlive(pid)).toBe(false);
    expect(recorded()).toEqual([]);
  });

  it('forgets a replica it gives up on (stopped while waiting for readiness)', async () => {
    const { make, recorded } = site(60_000);
    const controller = new AbortController();
    const provisioning = make().provision({ runId: 'r1', logger: createSilentLogger(), signal: controller.signal });
    for (const deadline = Date.now() + 5000; recorded().length === 0 && Date.now() < deadline;) await sleep(20);
    const pid = recorded()[0]!.pid;
    controller.abort();
    await expect(provisioning).rejects.toThrow();
    expect(recorded()).toEqual([]);
    for (const deadline = Date.now() + 5000; isAlive(pid) && Date.now() < deadline;) await sleep(50);
    expect(isAlive(pid)).toBe(false);
  });
});
