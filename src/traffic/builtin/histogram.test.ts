import { describe, expect, it } from 'vitest';
import { bucketIndex, bucketUpper, createHistogram } from './histogram.js';

describe('latency histogram', () => {
  it('is exact below 64 µs and within 1/32 above, up to about 35 minutes', () => {
    for (const v of [0, 1, 63]) expect(bucketUpper(bucketIndex(v))).toBe(v);
    for (const v of [64, 100, 1234, 99_999, 5_000_000, 2 ** 31 - 1]) {
      const upper = bucketUpper(bucketIndex(v));
      expect(upper).toBeGreaterThanOrEqual(v);
      expect((upper - v) / v).toBeLessThanOrEqual(1 / 32);
    }
    expect(bucketIndex(1e12)).toBe(bucketIndex(2 ** 31 - 1));
  });

  it('gives quantiles of a known distribution within 3 %', () => {
    const h = createHistogram();
    for (let i = 1; i <= 100_000; i++) h.record(i); // uniform 1..100000 µs
    expect(h.count()).toBe(100_000);
    expect(Math.abs((h.quantile(0.5) ?? 0) - 50_000) / 50_000).toBeLessThan(0.03);
    expect(Math.abs((h.quantile(0.99) ?? 0) - 99_000) / 99_000).toBeLessThan(0.03);
    expect(h.quantile(1)).toBe(100_000);
    expect(h.min()).toBe(1);
    expect(h.mean()).toBeCloseTo(50_000.5, 3);
  });

  it('keeps fixed memory whatever it records, merges and resets', () => {
    const a = createHistogram();
    const b = createHistogram();
    const size = a.counts.length;
    for (let i = 0; i < 10_000; i++) a.record(1000);
    for (let i = 0; i < 10_000; i++) b.record(3000);
    expect(a.counts.length).toBe(size);
    a.merge(b);
    expect(a.count()).toBe(20_000);
    expect(a.quantile(0.25)).toBeLessThanOrEqual(1000 * 1.04);
    expect(a.quantile(0.75)).toBeGreaterThanOrEqual(3000);
    a.reset();
    expect(a.quantile(0.5)).toBeNull();
    expect(a.count()).toBe(0);
  });

  it('lists its non-empty buckets, lowest first, as [bucketUpper, count]', () => {
    const h = createHistogram();
    expect(h.buckets()).toEqual([]);
    for (const v of [5000, 12, 5010, 12, 12, 1_000_000]) h.record(v);
    const buckets = h.buckets();
    expect(buckets).toEqual([
      [12, 3],
      [bucketUpper(bucketIndex(5000)), 2],
      [bucketUpper(bucketIndex(1_000_000)), 1],
    ]);
    expect(bucketIndex(5010)).toBe(bucketIndex(5000));
    expect(buckets.reduce((sum, [, n]) => sum + n, 0)).toBe(h.count());
    h.reset();
    expect(h.buckets()).toEqual([]);
  });
});
