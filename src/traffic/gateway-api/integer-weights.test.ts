import { describe, expect, it } from 'vitest';
import { InputError } from '../../common/errors.js';
import { fromIntegerWeights, sameIntegerWeights, toIntegerWeights } from './integer-weights.js';

describe('integer weights', () => {
  it('maps fractions to integers out of the scale exactly, half a percent included', () => {
    expect(toIntegerWeights('reads', { source: 0.995, target: 0.005 }, 1000, 'gateway-api')).toEqual({
      source: 995,
      target: 5,
    });
    expect(toIntegerWeights('reads', { source: 1 - 0.07, target: 0.07 }, 1000, 'gateway-api')).toEqual({
      source: 930,
      target: 70,
    });
    expect(toIntegerWeights('reads', { source: 0.995, target: 0.005 }, 200, 'dns')).toEqual({ source: 199, target: 1 });
    expect(toIntegerWeights('reads', { source: 0, target: 1 }, 200, 'dns')).toEqual({ source: 0, target: 200 });
  });

  it('refuses a weight finer than the scale instead of rounding it away', () => {
    const call = () => toIntegerWeights('writes', { source: 0.9996, target: 0.0004 }, 1000, 'gateway-api');
    expect(call).toThrow(InputError);
    expect(call).toThrow('writes.target: weight 0.0004 is not a whole number of 1/1000');
    expect(() => toIntegerWeights('reads', { source: 0.99, target: 0.01 }, 200, 'dns')).not.toThrow();
    expect(() => toIntegerWeights('reads', { source: 0.997, target: 0.003 }, 200, 'dns')).toThrow(
      'use multiples of 0.005 (0.5 %)',
    );
  });

  it('reads integers back as fractions of their sum', () => {
    expect(fromIntegerWeights({ source: 995, target: 5 })).toEqual({ source: 0.995, target: 0.005 });
    expect(fromIntegerWeights({ source: 1, target: 1 })).toEqual({ source: 0.5, target: 0.5 });
    expect(fromIntegerWeights({ source: 0, target: 0 })).toEqual({ source: 0, target: 0 });
    expect(sameIntegerWeights({ source: 1, target: 0 }, { source: 1 })).toBe(true);
    expect(sameIntegerWeights({ source: 1, target: 0 }, { source: 0, target: 1 })).toBe(false);
  });
});
