import { describe, expect, it } from 'vitest';
import { addSample, progressFigures, RATE_WINDOW_MS } from './progress.js';

describe('progressFigures', () => {
  it('floors the percent and never says 100 % before the work is finished', () => {
    const samples = [
      { at: 0, done: 0 },
      { at: 1000, done: 999 },
    ];
    expect(progressFigures(samples, 1000, false).percent).toBe(99);
    expect(progressFigures([{ at: 0, done: 1000 }], 1000, false).percent).toBe(99);
    expect(progressFigures([{ at: 0, done: 1000 }], 1000, true)).toMatchObject({ percent: 100, etaMs: 0 });
    expect(progressFigures([{ at: 0, done: 5 }], 1000, false).percent).toBe(0);
  });

  it('measures the rate over its samples and the time left at that rate', () => {
    const samples = [
      { at: 10_000, done: 100 },
      { at: 12_000, done: 300 },
    ];
    expect(progressFigures(samples, 1000, false)).toMatchObject({
      done: 300,
      ratePerSecond: 100,
      etaMs: 7000,
      percent: 30,
    });
  });

  it('says nothing it cannot know: no total, no percent; one sample, no rate and no time left', () => {
    expect(progressFigures([{ at: 0, done: 10 }], 100, false)).toMatchObject({ ratePerSecond: null, etaMs: null });
    expect(
      progressFigures(
        [
          { at: 0, done: 10 },
          { at: 1000, done: 20 },
        ],
        null,
        false,
      ),
    ).toMatchObject({
      percent: null,
      etaMs: null,
      ratePerSecond: 10,
    });
    expect(
      progressFigures(
        [
          { at: 0, done: 10 },
          { at: 1000, done: 10 },
        ],
        100,
        false,
      ).etaMs,
    ).toBeNull();
  });

  it('keeps only the samples inside the rate window', () => {
    let samples = addSample([], { at: 0, done: 0 });
    samples = addSample(samples, { at: 5000, done: 50 });
    samples = addSample(samples, { at: RATE_WINDOW_MS + 6000, done: 60 });
    expect(samples.map((s) => s.at)).toEqual([RATE_WINDOW_MS + 6000]);
  });
});
