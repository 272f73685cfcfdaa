import { describe, expect, it } from 'vitest';
import { sliceOffsets } from './toxics.js';

describe("the slicer's cuts", () => {
  it('cover the whole chunk in order, each piece within average ± variation (or smaller)', () => {
    for (const [length, average, variation] of [
      [1_000, 100, 20],
      [65_536, 1_000, 999],
      [10, 100, 0],
      [7, 1, 0],
    ] as const) {
      const cuts = sliceOffsets(length, average, variation);
      expect(cuts.at(-1)).toBe(length);
      let start = 0;
      for (const end of cuts) {
        expect(end).toBeGreaterThan(start);
        expect(end - start).toBeLessThanOrEqual(average + variation);
        start = end;
      }
      if (length > average + variation) expect(cuts.length).toBeGreaterThan(1);
    }
  });

  it('gives no cut for an empty chunk', () => {
    expect(sliceOffsets(0, 10, 2)).toEqual([]);
  });
});
