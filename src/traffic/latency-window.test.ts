import { describe, expect, it } from 'vitest';
import { HandoffError } from '../common/errors.js';
import { createHistogram } from './builtin/histogram.js';
import { bucketQuantile, latencyWindow } from './latency-window.js';
import type { LatencyBuckets } from './router.js';

const ms = (h: ReturnType<typeof createHistogram>): LatencyBuckets =>
  h.buckets().map(([upper, n]) => [upper / 1000, n]);

describe('latencyWindow', () => {
  it('gives the per-bucket deltas of the window and their quantiles', () => {
    const before: LatencyBuckets = [
      [1, 10],
      [2, 5],
    ];
    const after: LatencyBuckets = [
      [1, 12],
      [2, 5],
      [8, 90],
      [40, 3],
    ];
    const window = latencyWindow(before, after);
    expect(window).toEqual({
      buckets: [
        [1, 2],
        [8, 90],
        [40, 3],
      ],
      count: 95,
      p50Ms: 8,
      p99Ms: 40,
      reset: false,
    });
  });

  it('takes rank ceil(q × count): the p99 of 100 requests is the 99th, of 101 the 100th', () => {
    const hundred: LatencyBuckets = [
      [5, 98],
      [10, 1],
      [20, 1],
    ];
    expect(latencyWindow([], hundred)).toMatchObject({ p50Ms: 5, p99Ms: 10 });
    const more: LatencyBuckets = [
      [5, 98],
      [10, 1],
      [20, 2],
    ];
    expect(latencyWindow(null, more)).toMatchObject({ count: 101, p99Ms: 20 });
  });

  it('gives no quantiles for a window in which nothing finished', () => {
    const same: LatencyBuckets = [
      [3, 7],
      [9, 1],
    ];
    expect(latencyWindow(same, same)).toEqual({ buckets: [], count: 0, p50Ms: null, p99Ms: null, reset: false });
    expect(latencyWindow(undefined, [])).toMatchObject({ count: 0, p50Ms: null });
  });

  it('treats counts that went backwards as a router restart: the window is the new counts alone', () => {
    const before: LatencyBuckets = [
      [1, 500],
      [2, 10],
    ];
    const after: LatencyBuckets = [
      [1, 3],
      [4, 1],
    ];
    expect(latencyWindow(before, after)).toEqual({
      buckets: [
        [1, 3],
        [4, 1],
      ],
      count: 4,
      p50Ms: 1,
      p99Ms: 4,
      reset: true,
    });
    // A bucket that disappeared is a restart too.
    expect(latencyWindow([[7, 1]], [[1, 1]]).reset).toBe(true);
  });

  it('accepts pairs in any order and sums a bucket named twice', () => {
    const window = latencyWindow(
      [[2, 1]],
      [
        [9, 4],
        [2, 3],
        [9, 1],
      ],
    );
    expect(window.buckets).toEqual([
      [2, 2],
      [9, 5],
    ]);
  });

  it('matches a histogram of only the window, for the router’s own bucket scheme', () => {
    const cumulative = createHistogram();
    const windowOnly = createHistogram();
    for (let i = 0; i < 5000; i++) cumulative.record(200 + ((i * 7919) % 3000)); // 0.2..3.2 ms, before the window
    const start = ms(cumulative);
    for (let i = 0; i < 3000; i++) {
      const micros = 20_000 + ((i * 104_729) % 80_000); // 20..100 ms, in the window
      cumulative.record(micros);
      windowOnly.record(micros);
    }
    const window = latencyWindow(start, ms(cumulative));
    expect(window.buckets).toEqual(ms(windowOnly));
    expect(window.count).toBe(3000);
    // Bucket upper bounds: at or above the histogram's own quantile, within 1/32.
    for (const [q, value] of [
      [0.5, window.p50Ms],
      [0.99, window.p99Ms],
    ] as const) {
      const exact = (windowOnly.quantile(q) ?? 0) / 1000;
      expect(value).not.toBeNull();
      expect(value ?? 0).toBeGreaterThanOrEqual(exact);
      expect((value ?? 0) - exact).toBeLessThanOrEqual(exact / 32);
    }
    // The cumulative p50 (0.2..3.2 ms dominates) says nothing about the window's (20..100 ms).
    expect((cumulative.quantile(0.5) ?? 0) / 1000).toBeLessThan(4);
    expect(window.p50Ms ?? 0).toBeGreaterThan(55);
    expect(window.p50Ms ?? 0).toBeLessThan(65);
  });
});

describe('bucketQuantile', () => {
  it('clamps q to 0..1, gives null for nothing and refuses NaN', () => {
    const buckets: LatencyBuckets = [
      [3, 1],
      [1, 1],
      [2, 0],
    ];
    expect(bucketQuantile(buckets, 0)).toBe(1);
    expect(bucketQuantile(buckets, -1)).toBe(1);
    expect(bucketQuantile(buckets, 0.5)).toBe(1);
    expect(bucketQuantile(buckets, 0.51)).toBe(3);
    expect(bucketQuantile(buckets, 7)).toBe(3);
    expect(bucketQuantile([], 0.5)).toBeNull();
    expect(() => bucketQuantile(buckets, Number.NaN)).toThrow(HandoffError);
  });
});
