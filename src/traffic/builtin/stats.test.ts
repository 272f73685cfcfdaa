import { describe, expect, it } from 'vitest';
import { latencyWindow } from '../latency-window.js';
import type { LatencyBuckets, RouterStats } from '../router.js';
import type { RequestClass } from '../routes.js';
import { createStatsStore, type StatsStore } from './stats.js';

function serve(
  store: StatsStore,
  site: string,
  cls: RequestClass,
  micros: number,
  count: number,
  failed = false,
): void {
  for (let i = 0; i < count; i++) {
    store.started(site, cls);
    store.finished(site, cls, micros, failed);
  }
}

const buckets = (stats: RouterStats, site: string, cls: RequestClass): LatencyBuckets =>
  stats.sites[site]?.[cls].latencyBuckets ?? [];
const total = (pairs: LatencyBuckets): number => pairs.reduce((sum, [, n]) => sum + n, 0);

describe('router statistics: latency buckets', () => {
  it('start empty for every site and class', () => {
    const stats = createStatsStore(['source', 'target']).snapshot();
    for (const site of ['source', 'target'])
      for (const cls of ['reads', 'writes'] as const) expect(buckets(stats, site, cls)).toEqual([]);
  });

  it('grow as requests are served, per site and class, in milliseconds', () => {
    const store = createStatsStore(['source', 'target']);
    serve(store, 'source', 'reads', 2_000, 40);
    serve(store, 'target', 'reads', 30_000, 10);
    serve(store, 'target', 'writes', 500, 3, true); // failed requests have a latency too
    const first = store.snapshot();
    const sourceReads = buckets(first, 'source', 'reads');
    expect(sourceReads).toHaveLength(1);
    expect(sourceReads[0]?.[1]).toBe(40);
    expect(sourceReads[0]?.[0]).toBeGreaterThanOrEqual(2);
    expect(sourceReads[0]?.[0]).toBeLessThanOrEqual(2 * (1 + 1 / 32));
    expect(buckets(first, 'target', 'reads')).toHaveLength(1);
    expect(buckets(first, 'target', 'reads')[0]?.[0]).toBeGreaterThanOrEqual(30);
    expect(total(buckets(first, 'target', 'writes'))).toBe(3);
    expect(buckets(first, 'source', 'writes')).toEqual([]);

    serve(store, 'target', 'reads', 30_000, 5);
    serve(store, 'target', 'reads', 90_000, 1);
    const second = store.snapshot();
    expect(buckets(second, 'source', 'reads')).toEqual(sourceReads); // untouched
    const targetReads = buckets(second, 'target', 'reads');
    expect(targetReads.map(([, n]) => n)).toEqual([15, 1]);
    expect(targetReads[1]?.[0]).toBeGreaterThanOrEqual(90);
    const window = latencyWindow(buckets(first, 'target', 'reads'), targetReads);
    expect(window.count).toBe(6);
    expect(window.p99Ms).toBe(targetReads[1]?.[0]);
  });

  it('count finished requests only: the sum is requests minus those in flight', () => {
    const store = createStatsStore(['source', 'target']);
    serve(store, 'source', 'writes', 1_000, 4);
    store.started('source', 'writes');
    const stats = store.snapshot().sites.source?.writes;
    expect(stats?.requests).toBe(5);
    expect(stats?.inFlight).toBe(1);
    expect(total(stats?.latencyBuckets ?? [])).toBe(4);
  });

  it('are copies: changing a snapshot changes nothing in the store', () => {
    const store = createStatsStore(['source']);
    serve(store, 'source', 'reads', 1_000, 2);
    const snapshot = store.snapshot();
    snapshot.sites.source?.reads.latencyBuckets.push([999, 999]);
    expect(total(buckets(store.snapshot(), 'source', 'reads'))).toBe(2);
  });
});
