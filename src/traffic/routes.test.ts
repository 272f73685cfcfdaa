import { describe, expect, it } from 'vitest';
import { applyRoutesUpdate, checkWeights } from './routes.js';

const sites = ['source', 'target'];
const current = { reads: { source: 1, target: 0 }, writes: { source: 1, target: 0 } };

describe('routes', () => {
  it('accepts fractions summing to 1 within 1e-9, fills left-out sites with 0', () => {
    expect(checkWeights('reads', { source: 0.1, target: 0.2 + 0.7 }, sites)).toEqual({
      source: 0.1,
      target: 0.2 + 0.7,
    });
    expect(() => checkWeights('reads', { source: 0.1, target: 0.9 + 1e-8 }, sites)).toThrow('must sum to 1');
    expect(checkWeights('reads', { target: 1 }, sites)).toEqual({ source: 0, target: 1 });
  });

  it.each([
    [{ reads: { source: 0.5 } }, 'reads: weights must sum to 1, got 0.5 (source 0.5)'],
    [{ reads: { source: 1 + 2e-9 } }, 'weight 1.000000002 is above 1'],
    [{ writes: { source: -1, target: 2 } }, 'writes.source: weight -1 is negative'],
    [{ reads: { jupiter: 1 } }, 'reads.jupiter: unknown site; known sites: source, target'],
    [{}, 'give "reads", "writes" or both'],
    [{ reads: [1] }, 'reads'],
    [null, 'expected object'],
  ])('refuses %j', (input, message) => {
    expect(() => applyRoutesUpdate(current, input, sites)).toThrow(message);
  });

  it('reports which classes changed', () => {
    expect(applyRoutesUpdate(current, { reads: { source: 1 } }, sites).changed).toEqual([]);
    expect(applyRoutesUpdate(current, { writes: { target: 1 } }, sites).changed).toEqual(['writes']);
  });
});
