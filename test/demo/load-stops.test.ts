/**
 * The load's own stops: when the clients' event loop does not run (here: blocked on purpose for
 * 700 ms; in a run, a host's snapshot of the machine or a starved thread), the requests due
 * meanwhile come out in one burst afterwards. The generator says so (`stats.stops`), and counts the
 * requests of that burst it could not send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/net.js';
import { CLIENT_STOP_MS, startLoad } from '../../src/demo/load/generator.js';
import { startRouterFixture, type RouterFixture } from '../traffic/support/sites.js';

let fixture: RouterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function blockFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the clients' thread stopped: no timer, no socket runs
  }
}

describe('the load generator’s own stops', () => {
  it('counts a stop of its clients, its length, and the requests of the burst after it that could not be sent', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    const load = startLoad({
      baseUrl: fixture.server.proxyUrl,
      rate: 500,
      accounts: 10,
      clients: 5,
      // Few in flight: the burst of about 350 requests due during the stop cannot all be sent.
      maxInFlight: 4,
      maxRequests: 5000,
      maxDurationMs: 10_000,
    });
    load.setStage('replicate');
    await sleep(300);
    const before = { ...load.stats().stops };
    const notSentBefore = load.stats().notSent;
    blockFor(700);
    await sleep(300);
    load.setStage('verify');
    await sleep(200);
    const stats = await load.stop();
    // The stop counts in the stage it happened in, and only there.
    expect(load.latency.stages().replicate?.clientStopMs).toBeGreaterThanOrEqual(700);
    expect(load.latency.stages().verify?.clientStopMs).toBeLessThan(700);
    expect(stats.stops.count).toBeGreaterThan(before.count);
    expect(stats.stops.longestMs).toBeGreaterThanOrEqual(700);
    expect(stats.stops.longestMs).toBeGreaterThan(CLIENT_STOP_MS);
    expect(stats.stops.totalMs).toBeGreaterThanOrEqual(stats.stops.longestMs);
    // About 350 due during the stop, at most 4 in flight: most of the burst is not sent, and counted.
    expect(stats.stops.notSent - before.notSent).toBeGreaterThan(200);
    expect(stats.notSent - notSentBefore).toBeGreaterThanOrEqual(stats.stops.notSent - before.notSent);
    expect(stats.failed).toBe(0);
  });
});
