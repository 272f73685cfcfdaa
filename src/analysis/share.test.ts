import { describe, expect, it } from 'vitest';
import type { Measurement, SiteReading } from './measurement.js';
import { evaluateShare } from './share.js';

const reading = (requests: number, free?: number): SiteReading => ({
  status: 'ok',
  values: { share: 0, ...(free === undefined ? {} : { free_requests: free }) },
  samples: requests,
});
const measure = (source: SiteReading, target: SiteReading): Measurement => ({
  at: 0,
  windowMs: 10_000,
  sites: { source, target },
});
const options = { expected: 0.1, intervalMs: 1000, minSamples: 200 };

describe('the observed-share check with read-after-write stickiness', () => {
  it('judges the share among the requests free to go either way, not among all of them', () => {
    // 10,000 reads: 2,500 followed their client's write to the source; of the 7,500 free, 750 (10 %) reached the target.
    const m = measure(reading(9250, 6750), reading(750, 750));
    const result = evaluateShare(options, m);
    expect(result.outcome).toBe('Pass');
    expect(result.value).toBeCloseTo(0.1, 9);
    expect(result.samples).toBe(7500);
    expect(result.reason).toContain('2500 more followed their client');
  });

  it('holds on the same counts when the router does not say which reads were sticky (7.5 % of all for 10 % asked)', () => {
    const result = evaluateShare(options, measure(reading(9250), reading(750)));
    expect(result.outcome).toBe('Inconclusive');
    expect(result.value).toBeCloseTo(0.075, 9);
    expect(result.reason).toMatch(/outside 8-12 %, so the step holds; the weights are not in effect/);
  });

  it('still holds when the free requests themselves miss the weight, and says why with plenty of data', () => {
    const result = evaluateShare(options, measure(reading(9700, 7000), reading(300, 300)));
    expect(result.outcome).toBe('Inconclusive');
    expect(result.value).toBeCloseTo(300 / 7300, 9);
    expect(result.reason).toContain('7300 requests free to go either way');
    expect(result.reason).toContain('so the step holds');
  });

  it('counts only free requests toward the minimum sample', () => {
    const result = evaluateShare(options, measure(reading(1000, 150), reading(20, 20)));
    expect(result.outcome).toBe('Inconclusive');
    expect(result.reason).toMatch(/too few requests free to go either way to measure the share \(170 < 200\)/);
  });

  it('is NoData when every request in the window followed stickiness', () => {
    const result = evaluateShare(options, measure(reading(500, 0), { status: 'no-data', reason: 'none' }));
    expect(result.outcome).toBe('NoData');
    expect(result.reason).toContain('all 500 requests in the window followed read-after-write stickiness');
  });

  it('passes on all requests when too few were free but the share of all of them is within the bounds (100 % after cutover)', () => {
    const full = { expected: 1, intervalMs: 1000, minSamples: 100 };
    // 120 reads, all on the target; 45 followed their client's write there: 75 free < 100.
    const result = evaluateShare(full, measure({ status: 'no-data', reason: 'none' }, reading(120, 75)));
    expect(result.outcome).toBe('Pass');
    expect(result.value).toBe(1);
    expect(result.samples).toBe(120);
    expect(result.reason).toContain('too few free to go either way, 75 < 100');
    // Every one sticky: still the share of all of them.
    expect(evaluateShare(full, measure({ status: 'no-data', reason: 'none' }, reading(120, 0))).outcome).toBe('Pass');
    // The share of all of them outside the bounds: still too few free ones to judge.
    const off = evaluateShare(full, measure(reading(60, 0), reading(60, 60)));
    expect(off.outcome).toBe('Inconclusive');
  });
});
