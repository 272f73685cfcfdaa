/**
 * The router's latency buckets over real HTTP: they measure what the sites really took, per site
 * and class; `/v1/stats` serves them in the shape the analysis provider reads; and two polls give
 * a window whose quantiles see a slowdown the since-start quantiles hide.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { routerStatsOverHttp } from '../../src/analysis/providers/router-stats.js';
import { HandoffError } from '../../src/common/errors.js';
import { createHttpRouter } from '../../src/traffic/client/http-router.js';
import { latencyWindow } from '../../src/traffic/latency-window.js';
import { startRouterFixture, type RouterFixture } from './support/sites.js';

const TOKEN = 'latency-buckets-token-0b7d41c9';
const SLOW_MS = 200;

let fixture: RouterFixture | undefined;
let fakeAdmin: http.Server | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  if (fakeAdmin) {
    const server = fakeAdmin;
    fakeAdmin = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function sendAll(f: RouterFixture, method: string, count: number, concurrency = 10): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const res = await f.send(method, '/item', method === 'POST' ? { body: 'x' } : {});
      expect(res.status).toBe(200);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

describe('the built-in router latency buckets', () => {
  it('measure each site and class, are served by /v1/stats as the analysis side reads them, and give windows', async () => {
    fixture = await startRouterFixture({
      maxReadLagMs: null,
      stickyAfterWriteMs: 0,
      admin: { host: '127.0.0.1', port: 0 },
      adminToken: TOKEN,
    });
    const f = fixture;
    const poll = routerStatsOverHttp({ adminUrl: f.server.adminUrl ?? '', token: TOKEN });
    await f.router.setRoutes({ reads: { source: 0, target: 1 } });
    await sendAll(f, 'GET', 60); // the target, fast
    await sendAll(f, 'POST', 10); // writes stay on the source
    const first = await poll();
    const target = f.sites.target;
    if (!target) throw new Error('no target site');
    const answer = target.handler;
    target.handler = (req, res, body) => void setTimeout(() => answer(req, res, body), SLOW_MS);
    await sendAll(f, 'GET', 20); // the target, now slow
    const second = await poll();

    const targetReads = second.sites.target?.reads;
    expect(targetReads?.latencyBuckets).toBeDefined();
    expect(targetReads?.latencyBuckets?.reduce((sum, [, n]) => sum + n, 0)).toBe(80);
    expect(second.sites.source?.writes.latencyBuckets?.reduce((sum, [, n]) => sum + n, 0)).toBe(10);
    expect(second.sites.source?.reads.latencyBuckets).toEqual([]);
    expect(second.sites.target?.writes.latencyBuckets).toEqual([]);
    // 20 requests took at least SLOW_MS (less a millisecond of timer granularity).
    const slow = (targetReads?.latencyBuckets ?? []).filter(([upper]) => upper >= SLOW_MS - 1);
    expect(slow.reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThanOrEqual(20);

    const window = latencyWindow(first.sites.target?.reads.latencyBuckets, targetReads?.latencyBuckets ?? []);
    expect(window.count).toBe(20);
    expect(window.reset).toBe(false);
    expect(window.p50Ms ?? 0).toBeGreaterThanOrEqual(SLOW_MS - 1);
    // Since the start, 60 of 80 requests were fast: that median does not show the slowdown.
    expect(targetReads?.p50Ms ?? Infinity).toBeLessThan(window.p50Ms ?? 0);

    // The adapter over the admin API reports the same buckets as the router in this process.
    const client = createHttpRouter({ adminUrl: f.server.adminUrl ?? '', token: TOKEN });
    try {
      const overHttp = (await client.snapshot()).stats.sites.target?.reads.latencyBuckets;
      expect(overHttp).toEqual((await f.router.snapshot()).stats.sites.target?.reads.latencyBuckets);
    } finally {
      await client.close();
    }
  });

  it('are refused by the admin client when a router sends them out of order, naming the field', async () => {
    const stats = (buckets: unknown) => ({
      requests: 2,
      errors: 0,
      inFlight: 0,
      p50Ms: 1,
      p99Ms: 3,
      latencyBuckets: buckets,
    });
    const body = {
      sites: ['source', 'target'],
      routes: { reads: { source: 1, target: 0 }, writes: { source: 1, target: 0 } },
      hold: { active: false, classes: [], queued: 0, since: null, deadline: null, lastRelease: null },
      lag: { source: null, target: null },
      stats: {
        sites: {
          source: {
            reads: stats([
              [3, 1],
              [1, 1],
            ]),
            writes: stats([[1, 2]]),
          },
          target: { reads: stats([[1, 2]]), writes: stats([[1, 2]]) },
        },
        held: 0,
        rejected: 0,
        retries: 0,
      },
      observed: {
        reads: { since: new Date().toISOString(), requests: 0, shares: { source: 0, target: 0 } },
        writes: { since: new Date().toISOString(), requests: 0, shares: { source: 0, target: 0 } },
      },
    };
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    fakeAdmin = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = createHttpRouter({
      adminUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: TOKEN,
    });
    try {
      const error = await client.snapshot().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HandoffError);
      expect((error as HandoffError).message).toContain('stats.sites.source.reads.latencyBuckets');
      expect((error as HandoffError).message).toContain('ascending');
    } finally {
      await client.close();
    }
  });
});
