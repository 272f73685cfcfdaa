import { describe, expect, it } from 'vitest';
import { createPicker } from './picker.js';

function counts(picks: Array<string | null>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1;
  return out;
}

describe('smooth weighted picker', () => {
  it('gives each site its share to within one request, even 0.005', () => {
    const picker = createPicker({ source: 0.995, target: 0.005 });
    const picks = Array.from({ length: 1000 }, () => picker.pick());
    expect(counts(picks)).toEqual({ source: 995, target: 5 });
    // Spread out, not in a burst: the target's picks are about 200 apart.
    const at = picks.flatMap((p, i) => (p === 'target' ? [i] : []));
    for (let i = 1; i < at.length; i++)
      expect(Math.abs((at[i] as number) - (at[i - 1] as number) - 200)).toBeLessThanOrEqual(1);
  });

  it('handles three sites and uneven fractions', () => {
    const picker = createPicker({ a: 0.5, b: 0.3, c: 0.2 });
    expect(counts(Array.from({ length: 1000 }, () => picker.pick()))).toEqual({ a: 500, b: 300, c: 200 });
  });

  it('skips ineligible sites and returns null when none qualifies', () => {
    const picker = createPicker({ source: 0.5, target: 0.5 });
    expect(counts(Array.from({ length: 10 }, () => picker.pick((s) => s === 'source')))).toEqual({ source: 10 });
    expect(picker.pick(() => false)).toBeNull();
    const single = createPicker({ source: 0, target: 1 });
    expect(single.pick()).toBe('target');
    expect(single.pick((s) => s !== 'target')).toBeNull();
  });

  it('starts afresh after new weights', () => {
    const picker = createPicker({ source: 1, target: 0 });
    expect(picker.pick()).toBe('source');
    picker.setWeights({ source: 0, target: 1 });
    expect(picker.pick()).toBe('target');
  });
});
