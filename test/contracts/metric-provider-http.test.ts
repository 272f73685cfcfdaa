/** The http probe provider against real HTTP servers on 127.0.0.1. */
import { describe, expect, it, afterAll } from 'vitest';
import { createHttpProvider } from '../../src/analysis/providers/http.js';
import { sleep } from '../../src/common/net.js';
import { startHangingServer, startHttpServer, unreachableUrl, type TestServer } from '../analysis/http-server.js';
import { metricProviderContract } from './metric-provider.shared.js';

let source: TestServer;
let target: TestServer;
const hits = { source: 0, target: 0 };
const probe = { method: 'GET', path: '/healthz', expectStatus: 200, bodyMatches: '^ok' };

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

metricProviderContract('http probes (real servers)', {
  async setup() {
    source = await startHttpServer((_req, res) => {
      hits.source++;
      res.end('ok source');
    });
    target = await startHttpServer((_req, res) => {
      hits.target++;
      res.end('ok target');
    });
  },
  async teardown() {
    await Promise.all([source.close(), target.close()]);
  },
  healthy: () => {
    hits.source = 0;
    hits.target = 0;
    return createHttpProvider({
      endpoints: { source: source.url, target: target.url },
      probe,
      ratePerSecond: 50,
      concurrency: 1,
    });
  },
  // With concurrency 1, the 4th request to a server means the 3rd probe has been recorded.
  produce: () => waitFor(() => hits.source >= 4 && hits.target >= 4, 10_000, 'probes to reach both sites'),
  empty: () => createHttpProvider({ endpoints: {}, probe }),
  omitted: {
    unreachable: 'the backend is the site itself: an unreachable site is a measurement (error_rate 1), tested below',
    hanging: 'a site that never answers is a measurement too (probes time out), tested below',
  },
});

describe('http provider: what a probe of a site says', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function measureAfter(endpoints: { source?: string; target?: string }, until: () => boolean, timeoutMs = 2000) {
    const p = createHttpProvider({ endpoints, probe, ratePerSecond: 50, concurrency: 2, timeoutMs });
    await p.start();
    try {
      await waitFor(until, 15_000, 'probes');
      return await p.measure({ sites: ['source', 'target'], windowMs: 60_000 });
    } finally {
      await p.stop();
    }
  }

  it('counts wrong statuses and unmatched bodies as errors, with latency samples of good probes', async () => {
    let n = 0;
    const flaky = await startHttpServer((_req, res) => {
      n++;
      if (n % 4 === 0) res.statusCode = 500;
      res.end(n % 4 === 1 ? 'nope' : 'ok');
    });
    servers.push(flaky);
    const m = await measureAfter({ source: flaky.url, target: flaky.url }, () => n >= 40);
    const t = m.sites.target;
    expect(t?.status).toBe('ok');
    if (t?.status !== 'ok') return;
    expect(t.values.error_rate).toBeGreaterThan(0.3);
    expect(t.values.error_rate).toBeLessThan(0.7);
    expect(t.latency?.kind).toBe('samples');
    expect(t.values.latency_p99_ms).toBeGreaterThan(0);
  });

  it('measures an unreachable site as error_rate 1 (the site is down), not as a provider Error', async () => {
    const down = await unreachableUrl();
    let okHits = 0;
    const up = await startHttpServer((_req, res) => {
      okHits++;
      res.end('ok');
    });
    servers.push(up);
    const m = await measureAfter({ source: up.url, target: down }, () => okHits >= 10);
    expect(m.sites.target).toMatchObject({ status: 'ok', values: { error_rate: 1 } });
    expect(m.sites.source).toMatchObject({ status: 'ok', values: { error_rate: 0 } });
  });

  it('bounds probes of a site that never answers by the timeout', async () => {
    const hanging = await startHangingServer();
    servers.push(hanging);
    const started = Date.now();
    const p = createHttpProvider({
      endpoints: { target: hanging.url },
      probe,
      ratePerSecond: 10,
      concurrency: 2,
      timeoutMs: 300,
    });
    await p.start();
    let m = await p.measure({ sites: ['target'], windowMs: 60_000 });
    while (m.sites.target?.status !== 'ok' && Date.now() - started < 15_000) {
      await sleep(50);
      m = await p.measure({ sites: ['target'], windowMs: 60_000 });
    }
    await p.stop();
    expect(m.sites.target).toMatchObject({ status: 'ok', values: { error_rate: 1 } });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses a body pattern that is not a regular expression', () => {
    expect(() => createHttpProvider({ endpoints: {}, probe: { ...probe, bodyMatches: '(' } })).toThrow(
      /probe.bodyMatches: not a regular expression/,
    );
  });
});
