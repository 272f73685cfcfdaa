import { describe, expect, it } from 'vitest';
import { logNormalLatencies, seededRandom } from '../../../test/analysis/random.js';
import { judgeLatency } from './latency-judge.js';
import { mannWhitney, normalUpperTail } from './mann-whitney.js';

const samples = (valuesMs: number[]) => ({ kind: 'samples' as const, valuesMs });

describe('mannWhitney', () => {
  it('matches the textbook example (scipy asymptotic, continuity-corrected: p = 0.1113)', () => {
    const females = [20, 11, 17, 12];
    const males = [19, 22, 16, 29, 24];
    const r = mannWhitney(samples(females), samples(males));
    expect(r.u).toBe(17);
    expect(r.pValue).toBeCloseTo(0.11135, 4);
    expect(r.cles).toBeCloseTo(17 / 20, 10);
  });

  it('gives p = 0.0122 for two fully separated groups of five', () => {
    const r = mannWhitney(samples([1, 2, 3, 4, 5]), samples([6, 7, 8, 9, 10]));
    expect(r.u).toBe(25);
    expect(r.z).toBeGreaterThan(0);
    expect(r.pValue).toBeCloseTo(0.01218, 4);
    expect(r.shiftMs).toBe(5);
  });

  it('applies the tie correction: all-equal samples give p = 1, ties shrink the variance', () => {
    expect(mannWhitney(samples([3, 3, 3]), samples([3, 3, 3, 3])).pValue).toBe(1);
    // With ties (hand computed): x=[1,2,2,3], y=[2,3,3,4]; average ranks 1,3,3,3,6,6,6,8; the ranks
    // of y sum to 23, U_y = 23 - 10 = 13; variance = 16/12 * (9 - (24+24)/56); z = (13 - 8 - 0.5) / sd.
    const r = mannWhitney(samples([1, 2, 2, 3]), samples([2, 3, 3, 4]));
    expect(r.u).toBe(13);
    expect(r.z).toBeCloseTo(4.5 / Math.sqrt((16 / 12) * (9 - 48 / 56)), 6);
  });

  it('gives the same answer from histogram buckets as from the samples bucketed', () => {
    const random = seededRandom(7);
    const a = logNormalLatencies(random, 300, 20, 0.4);
    const b = logNormalLatencies(random, 300, 26, 0.4);
    const bounds = [5, 10, 15, 20, 25, 30, 40, 50, 75, 100];
    const bucket = (xs: number[]) => {
      const counts = new Array<number>(bounds.length + 1).fill(0);
      for (const x of xs) {
        const i = bounds.findIndex((bound) => x <= bound);
        counts[i === -1 ? bounds.length : i]! += 1;
      }
      return { kind: 'histogram' as const, boundsMs: bounds, counts };
    };
    const fromHistograms = mannWhitney(bucket(a), bucket(b));
    const mixed = mannWhitney(samples(a), bucket(b));
    expect(fromHistograms.sourceCount).toBe(300);
    expect(mixed.pValue).toBeCloseTo(fromHistograms.pValue, 12);
    expect(fromHistograms.pValue).toBeLessThan(0.001);
  });

  it('refuses histograms with different buckets and empty sides', () => {
    expect(() =>
      mannWhitney(
        { kind: 'histogram', boundsMs: [1, 2], counts: [1, 1, 1] },
        { kind: 'histogram', boundsMs: [1, 3], counts: [1, 1, 1] },
      ),
    ).toThrow(/different bucket bounds/);
    expect(() => mannWhitney(samples([]), samples([1]))).toThrow(/both sides/);
  });

  it('computes the normal tail accurately', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.959964)).toBeCloseTo(0.975, 6);
  });
});

describe('judgeLatency', () => {
  it('passes identical distributions (20 seeds, 200 samples each)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const j = judgeLatency(
        samples(logNormalLatencies(random, 200, 40, 0.5)),
        samples(logNormalLatencies(random, 200, 40, 0.5)),
      );
      expect(j.outcome, `seed ${seed}: ${j.reason}`).toBe('Pass');
    }
  });

  it('fails a 30 % latency shift over 200 samples', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const source = logNormalLatencies(random, 200, 40, 0.3);
      const target = logNormalLatencies(random, 200, 40, 0.3).map((x) => x * 1.3);
      const j = judgeLatency(samples(source), samples(target));
      expect(j.outcome, `seed ${seed}: ${j.reason}`).toBe('Fail');
      expect(j.ratio).toBeGreaterThan(1.2);
      expect(j.test?.pValue).toBeLessThan(0.02);
    }
  });

  it('passes a real but small shift (5 %) that is significant over many samples: the effect-size bound', () => {
    const random = seededRandom(42);
    const source = logNormalLatencies(random, 5000, 40, 0.2);
    const target = logNormalLatencies(random, 5000, 40, 0.2).map((x) => x * 1.05);
    const j = judgeLatency(samples(source), samples(target));
    expect(j.test?.pValue).toBeLessThan(0.02);
    expect(j.outcome, j.reason).toBe('Pass');
    expect(j.reason).toMatch(/below the 1.1 bound/);
  });

  it('passes a noticeable shift on few noisy samples (not significant)', () => {
    const random = seededRandom(3);
    const source = logNormalLatencies(random, 25, 40, 1.2);
    const target = logNormalLatencies(random, 25, 40, 1.2).map((x) => x * 1.15);
    const j = judgeLatency(samples(source), samples(target));
    expect(j.test?.pValue).toBeGreaterThan(0.02);
    expect(j.outcome, j.reason).toBe('Pass');
  });

  it('holds (Inconclusive) a significant shift between warn and fail, and passes a faster target', () => {
    const random = seededRandom(9);
    const source = logNormalLatencies(random, 2000, 40, 0.2);
    const slower = logNormalLatencies(random, 2000, 40, 0.2).map((x) => x * 1.15);
    expect(judgeLatency(samples(source), samples(slower)).outcome).toBe('Inconclusive');
    const faster = logNormalLatencies(random, 2000, 40, 0.2).map((x) => x * 0.6);
    const j = judgeLatency(samples(source), samples(faster));
    expect(j.outcome).toBe('Pass');
    expect(j.reason).toMatch(/target is faster/);
  });

  it('is Inconclusive with too few observations', () => {
    const j = judgeLatency(samples([1, 2, 3]), samples([10, 20, 30]));
    expect(j.outcome).toBe('Inconclusive');
    expect(j.reason).toMatch(/too few latency observations .*source 3, target 3; need 20/);
  });
});

describe('mannWhitney on weighted values (sparse histograms)', () => {
  it('equals the test on the expanded samples', () => {
    const weighted = mannWhitney(
      { kind: 'weighted', valuesMs: [10, 20, 30], counts: [5, 3, 2] },
      { kind: 'weighted', valuesMs: [20, 30, 40], counts: [4, 4, 2] },
    );
    const expanded = mannWhitney(
      samples([10, 10, 10, 10, 10, 20, 20, 20, 30, 30]),
      samples([20, 20, 20, 20, 30, 30, 30, 30, 40, 40]),
    );
    expect(weighted.u).toBe(expanded.u);
    expect(weighted.pValue).toBeCloseTo(expanded.pValue, 12);
    expect(weighted.shiftMs).toBe(expanded.shiftMs);
  });
});
