import { describe, expect, it } from 'vitest';
import { binomialUpperTail } from './binomial.js';

describe('binomialUpperTail', () => {
  it('matches exact small cases', () => {
    expect(binomialUpperTail(8, 10, 0.5)).toBeCloseTo(56 / 1024, 12);
    expect(binomialUpperTail(1, 5, 0.1)).toBeCloseTo(1 - 0.9 ** 5, 12);
    expect(binomialUpperTail(0, 5, 0.1)).toBe(1);
    expect(binomialUpperTail(6, 5, 0.1)).toBe(0);
    expect(binomialUpperTail(5, 5, 0.1)).toBeCloseTo(1e-5, 15);
  });

  it('is accurate for large n (Poisson regime and normal regime)', () => {
    // n = 100 000, p = 1e-5: X is about Poisson(1); P(X >= 2) = 1 - 2/e.
    expect(binomialUpperTail(2, 100_000, 1e-5)).toBeCloseTo(1 - 2 / Math.E, 4);
    // n = 10 000, p = 0.5: P(X >= 5100) = P(Z >= (5099.5 - 5000) / 50) ~ 0.0233.
    expect(binomialUpperTail(5100, 10_000, 0.5)).toBeCloseTo(0.0233, 3);
  });
});
