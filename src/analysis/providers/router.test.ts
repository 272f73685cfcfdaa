import { describe, expect, it } from 'vitest';
import { createRouterProvider } from './router.js';
import type { RouterStatsInput } from './router-stats.js';

const cls = (requests: number, errors: number, buckets?: Array<[number, number]>) => ({
  requests,
  errors,
  p50Ms: 5,
  p99Ms: 50,
  ...(buckets ? { latencyBuckets: buckets } : {}),
});
const stats = (
  s: [number, number],
  t: [number, number],
  buckets?: { s: Array<[number, number]>; t: Array<[number, number]> },
): RouterStatsInput => ({
  sites: {
    source: { reads: cls(s[0], s[1], buckets?.s), writes: cls(0, 0, buckets ? [] : undefined) },
    target: { reads: cls(t[0], t[1], buckets?.t), writes: cls(0, 0, buckets ? [] : undefined) },
  },
  held: 0,
});

function scripted(series: RouterStatsInput[]) {
  let clock = 0;
  let i = 0;
  const provider = createRouterProvider(
    { stats: async () => series[Math.min(i++, series.length - 1)]!, reuseMs: 0 },
    { now: () => clock },
  );
  return { provider, at: (ms: number) => (clock = ms) };
}

describe('router provider', () => {
  it('computes error rate, request rate and share from counter deltas over the window', async () => {
    const { provider, at } = scripted([stats([1000, 10], [0, 0]), stats([1900, 19], [100, 30])]);
    await provider.start();
    at(10_000);
    const m = await provider.measure({ sites: ['source', 'target'], windowMs: 10_000 });
    expect(m.windowMs).toBe(10_000);
    expect(m.sites.target).toMatchObject({
      status: 'ok',
      samples: 100,
      values: { error_rate: 0.3, request_rate: 10, share: 0.1 },
    });
    expect(m.sites.source).toMatchObject({ status: 'ok', samples: 900, values: { error_rate: 0.01, share: 0.9 } });
  });

  it('uses the newest poll at or before the window start, so old errors age out', async () => {
    const { provider, at } = scripted([stats([0, 0], [0, 0]), stats([100, 0], [100, 50]), stats([200, 0], [200, 50])]);
    await provider.start();
    at(5000);
    await provider.measure({ sites: ['target'], windowMs: 5000 });
    at(10_000);
    const m = await provider.measure({ sites: ['target'], windowMs: 5000 });
    expect(m.sites.target).toMatchObject({ status: 'ok', samples: 100, values: { error_rate: 0 } });
  });

  it('says NoData for a site without requests, and after a router restart (counters went back)', async () => {
    const { provider, at } = scripted([stats([10, 0], [5, 0]), stats([20, 0], [5, 0]), stats([3, 0], [1, 0])]);
    await provider.start();
    at(1000);
    const idle = await provider.measure({ sites: ['target'], windowMs: 1000 });
    expect(idle.sites.target).toEqual({ status: 'no-data', reason: 'no requests to the target in the last 1 s' });
    at(2000);
    const restarted = await provider.measure({ sites: ['target'], windowMs: 1000 });
    expect(restarted.sites.target?.status).toBe('no-data');
  });

  it('gives the windowed latency distribution from bucket deltas, with quantiles from it', async () => {
    const { provider, at } = scripted([
      stats([10, 0], [10, 0], { s: [[4, 10]], t: [[4, 10]] }),
      stats([110, 0], [110, 0], {
        s: [
          [4, 60],
          [8, 50],
        ],
        t: [
          [4, 10],
          [8, 10],
          [16, 90],
        ],
      }),
    ]);
    await provider.start();
    at(1000);
    const m = await provider.measure({ sites: ['source', 'target'], windowMs: 1000 });
    const t = m.sites.target;
    expect(t?.status).toBe('ok');
    if (t?.status !== 'ok') return;
    expect(t.latency).toEqual({ kind: 'weighted', valuesMs: [8, 16], counts: [10, 90] });
    expect(t.values.latency_p50_ms).toBe(16);
    expect(t.values.latency_p99_ms).toBe(16);
  });

  it('turns a failed poll into Error readings', async () => {
    let clock = 0;
    const provider = createRouterProvider(
      {
        stats: async () => {
          throw new Error('ECONNREFUSED');
        },
      },
      { now: () => clock },
    );
    await provider.start();
    clock = 1000;
    const m = await provider.measure({ sites: ['source', 'target'], windowMs: 1000 });
    expect(m.sites.source).toEqual({
      status: 'error',
      reason: 'cannot read router statistics: ECONNREFUSED',
      retryable: true,
    });
  });

  it('keeps a bounded history that gets coarser with age', async () => {
    let clock = 0;
    let n = 0;
    let polls = 0;
    const provider = createRouterProvider(
      { stats: async () => (polls++, stats([(n += 10), 0], [n, 0])), reuseMs: 0, historyMs: 3_600_000 },
      { now: () => clock },
    );
    await provider.start();
    for (let i = 1; i <= 2000; i++) {
      clock = i * 100;
      await provider.measure({ sites: ['target'], windowMs: 1000 });
    }
    // A window of 150 s still finds a baseline at or before its start, though polls were thinned.
    const m = await provider.measure({ sites: ['target'], windowMs: 150_000 });
    expect(polls).toBe(2002);
    expect(provider.historySize()).toBeLessThanOrEqual(600);
    expect(m.windowMs).toBeGreaterThanOrEqual(150_000);
    expect(m.windowMs).toBeLessThanOrEqual(150_000 * 1.03);
    const recent = await provider.measure({ sites: ['target'], windowMs: 1000 });
    expect(recent.windowMs).toBe(1000);
  });
});
