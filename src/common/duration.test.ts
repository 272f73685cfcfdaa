import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('parses single and combined units', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1m30s')).toBe(90_000);
  });

  it('refuses what is not a duration, saying how to write one', () => {
    for (const bad of ['', '5', 'fast', '5 s', '-1s', '1d']) {
      expect(() => parseDuration(bad)).toThrow(/duration/);
    }
  });

  it('formats milliseconds back to text', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1500)).toBe('1.5s');
  });
});
