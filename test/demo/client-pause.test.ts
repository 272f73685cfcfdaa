/**
 * The write pause measured at the client: a real router holds writes while the load generator
 * sends through it; the longest write in flight during the hold is what `writePause` reports, and
 * it is beside the router's own figure. With nothing held (no write in the window) it is null.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/common/events.js';
import { sleep } from '../../src/common/net.js';
import { createDemoProgress } from '../../src/demo/demo-progress.js';
import { clientWritePause } from '../../src/demo/summarize.js';
import { createClientLatency } from '../../src/demo/load/client-latency.js';
import { startLoad } from '../../src/demo/load/generator.js';
import { startLoadInWorker } from '../../src/demo/load/worker.js';
import { startRouterFixture, type RouterFixture } from '../traffic/support/sites.js';

let fixture: RouterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

// The demo runs its load in a worker thread (run-demo.ts); the same measurement must come back from it.
const generators = {
  'in process': startLoad,
  'in a worker thread': (options: Parameters<typeof startLoad>[0]) => startLoadInWorker(options),
};

describe.each(Object.entries(generators))('client-observed write pause, load %s', (_name, start) => {
  it('a write held by the router for 700 ms shows up in the client pause, at least as long as the router says, in the cutover stage', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    const load = start({
      baseUrl: fixture.server.proxyUrl,
      rate: 200,
      accounts: 10,
      clients: 20,
      maxInFlight: 512,
      maxRequests: 2000,
      maxDurationMs: 8000,
    });
    try {
      await ('ready' in load ? load.ready : undefined);
      load.setStage('shift');
      await sleep(500);
      load.setStage('cutover');
      const held = await fixture.router.hold({ classes: ['writes'], maxHoldMs: 5000 });
      expect(held.classes).toEqual(['writes']);
      await sleep(700);
      const released = await fixture.router.release();
      load.setStage('bake');
      await sleep(300);
      const stats = await load.stop();
      expect(stats.failed).toBe(0);
      const record = released.last;
      expect(record).not.toBeNull();
      const releasedAt = Date.parse(record?.at ?? '');
      const heldFrom = releasedAt - (record?.heldMs ?? 0);
      const clientPause = load.latency.writePause(heldFrom, releasedAt);
      expect(released.pauseMs).not.toBeNull();
      expect(clientPause).not.toBeNull();
      // The first held write waited from its arrival to the release, plus its trip: never less than the router's figure.
      expect(clientPause as number).toBeGreaterThanOrEqual(Math.floor(released.pauseMs as number));
      // Writes sent during the hold waited for the release: the longest is most of the hold.
      expect(clientPause as number).toBeGreaterThanOrEqual(0.5 * (record?.heldMs ?? 0));
      expect(record?.heldMs ?? 0).toBeGreaterThanOrEqual(650);
      // The held writes counted in the stage that was current when they were sent: the longest in
      // `cutover`, or in `shift` when the router held a write sent just before the stage changed (or
      // before a worker had read the change; CI saw that: 694 ms in cutover against the router's 699).
      const stages = load.latency.stages();
      const longest = Math.max(stages.shift?.writes.maxMs ?? 0, stages.cutover?.writes.maxMs ?? 0);
      expect(longest).toBeGreaterThanOrEqual(Math.floor(released.pauseMs as number));
      // Writes sent during the hold were counted in cutover, and waited for the release.
      expect(stages.cutover?.writes.maxMs ?? 0).toBeGreaterThanOrEqual(0.5 * (record?.heldMs ?? 0));
      expect(stats.offered).toBe(stats.total + stats.notSent);
    } finally {
      await load.stop();
    }
  });

  it('is null when no write was in flight in the window, never 0', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    const load = start({
      baseUrl: fixture.server.proxyUrl,
      rate: 100,
      readShare: 1,
      accounts: 10,
      maxRequests: 100,
      maxDurationMs: 3000,
    });
    await ('ready' in load ? load.ready : undefined); // a worker starts sending once its modules are loaded
    const from = Date.now();
    await sleep(500);
    await load.stop();
    expect(load.stats().total).toBeGreaterThan(10);
    expect(load.latency.writePause(from, Date.now())).toBeNull();
  });
});

describe('client latency in fixed memory', () => {
  it('keeps stages apart and finds the longest write overlapping a window', () => {
    const latency = createClientLatency();
    latency.record('baseline', 'reads', 0, 10);
    latency.setStage('verify');
    expect(latency.stage()).toBe('verify');
    latency.record('verify', 'writes', 100, 400);
    const stages = latency.stages();
    expect(stages.baseline?.reads.count).toBe(1);
    expect(stages.baseline?.writes.count).toBe(0);
    expect(stages.baseline?.writes.p99Ms).toBeNull();
    expect(stages.verify?.writes.maxMs).toBeCloseTo(300, 0);
    // A request that could not be sent counts in the stage current when it was due.
    latency.notSent();
    latency.notSent();
    expect(latency.stages().verify?.notSent).toBe(2);
    expect(latency.stages().baseline?.notSent).toBe(0);
    const a = latency.writeStarted(1000);
    const b = latency.writeStarted(1500);
    latency.writeEnded(a);
    // a ended at Date.now() (far after 1000): the longest overlapping [1200, 1300].
    expect(latency.writePause(1200, 1300)).toBeGreaterThan(1000);
    // b has not come back: counted up to now.
    expect(latency.writePause(1600, 1700, 2500)).toBeGreaterThanOrEqual(1000);
    latency.writeEnded(b);
    expect(latency.writePause(-10, -5)).toBeNull();
  });
});

describe("the demo's hold window", () => {
  it('ends when the release is asked for: a slow write sent after it was never held and is not the pause', async () => {
    const bus = createEventBus({ runId: 'r' });
    const progress = createDemoProgress(() => undefined, false);
    progress.observe(bus);
    const latency = createClientLatency();
    const step = (type: 'step-intent' | 'step-done', name: string): void =>
      void bus.emit(type, { stage: 'cutover', step: name } as never);

    step('step-intent', 'hold-requests');
    const held = latency.writeStarted(Date.now()); // in flight during the hold
    await sleep(40);
    step('step-done', 'hold-requests');
    step('step-intent', 'release-requests');
    latency.writeEnded(held);
    await sleep(10);
    const after = latency.writeStarted(Date.now()); // sent after the release was asked for
    await sleep(200);
    latency.writeEnded(after);
    bus.emit('cutover-measured', { writePauseMs: 40, heldRequests: 1, failedRequests: 0 });
    step('step-done', 'release-requests'); // the release step ends once the released writes are answered

    const pause = clientWritePause(progress.facts, { latency });
    expect(pause).toBeGreaterThanOrEqual(39);
    expect(pause).toBeLessThan(150); // the 200 ms write sent after the release is not in it
  });
});
