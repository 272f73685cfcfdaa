/**
 * Read-after-write stickiness does not distort the observed share: a real router, real HTTP, many
 * clients of which some just wrote (their reads follow the cookie to the source). The router counts
 * those reads apart, and the share check judged through the router provider passes at the weight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRouterProvider } from '../../src/analysis/providers/router.js';
import { evaluateShare } from '../../src/analysis/share.js';
import { startRouterFixture, type RouterFixture } from './support/sites.js';

let fixture: RouterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('the observed share among reads free to go either way', () => {
  it('passes at a 10 % weight while a third of the reads follow their client to the source', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null, stickyAfterWriteMs: 60_000 });
    const f = fixture;
    const write = await f.send('POST', '/orders', { body: 'x' });
    const cookie = ([write.headers['set-cookie']].flat().find((c) => c?.startsWith('handoff_writer=')) as string).split(
      ';',
    )[0] as string;
    await f.router.setRoutes({ reads: { source: 0.9, target: 0.1 } });
    const provider = createRouterProvider({ stats: async () => (await f.router.snapshot()).stats, reuseMs: 0 });
    await provider.start();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 1500) {
        const i = next++;
        const sticky = i % 3 === 0;
        const res = await f.send('GET', '/orders/1', sticky ? { headers: { cookie } } : {});
        expect(res.status).toBe(200);
        if (sticky) expect(res.body).toBe('source');
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    const snapshot = await f.router.snapshot();
    expect(snapshot.stats.sites.source?.reads.stickyRequests).toBe(500);
    expect(snapshot.stats.sites.target?.reads.stickyRequests).toBe(0);
    expect(snapshot.observed.reads.freeRequests).toBe(1000);
    // Smooth weighted round robin: within a request or two of 10 % of the free reads.
    expect(Math.abs((snapshot.observed.reads.freeShares?.target ?? 0) - 0.1)).toBeLessThan(0.005);
    // Among all reads the target got about 6.7 %: the old judgement would hold.
    expect(snapshot.observed.reads.shares.target ?? 0).toBeLessThan(0.08);

    const measurement = await provider.measure({ sites: ['source', 'target'], windowMs: 60_000, class: 'reads' });
    const options = { expected: 0.1, intervalMs: 1000, minSamples: 200 };
    const judged = evaluateShare(options, measurement);
    expect(judged.outcome).toBe('Pass');
    expect(judged.samples).toBe(1000);
    expect(judged.reason).toContain('500 more followed their client');
    // The same counts without the sticky split (an older router) hold.
    const blind = structuredClone(measurement);
    for (const r of Object.values(blind.sites)) if (r?.status === 'ok') delete r.values.free_requests;
    expect(evaluateShare(options, blind).outcome).toBe('Inconclusive');
    await provider.stop();
  });
});
