import { describe, expect, it } from 'vitest';
import { emptyLoadStats, type LoadStats } from './load/generator.js';
import { reconcile } from './reconcile.js';

const cls = (requests: number, errors: number) => ({ requests, errors });
const router = (requests: number, errors: number) => ({
  sites: { source: { reads: cls(requests, errors), writes: cls(0, 0) } },
});

function stats(overrides: Partial<LoadStats>): LoadStats {
  return { ...emptyLoadStats(), ...overrides };
}

describe('reconcile: the clients’ counts against the router’s', () => {
  it('says when the clients themselves were stopped, how long, and how many requests that left unsent', () => {
    const result = reconcile(
      stats({
        offered: 1200,
        total: 1000,
        notSent: 200,
        stops: { count: 2, totalMs: 5400, longestMs: 5100, notSent: 180 },
      }),
      router(1000, 0),
    );
    expect(result.notes).toContain(
      "the clients themselves were stopped 2 times (longest 5100 ms, 5400 ms in all; the machine or the load's thread did not run): " +
        'the requests due meanwhile were offered at once afterwards, and 180 of them could not be sent',
    );
    expect(result.notes).toContain('the router counted every request the clients sent');
  });

  it('says nothing of stops when the clients ran throughout', () => {
    const result = reconcile(stats({ offered: 1000, total: 1000 }), router(1000, 0));
    expect(result.notes.some((n) => n.includes('stopped'))).toBe(false);
  });

  it('still says the clients stopped when the router’s statistics could not be read', () => {
    const result = reconcile(
      stats({ offered: 10, total: 10, stops: { count: 1, totalMs: 300, longestMs: 300, notSent: 0 } }),
      null,
    );
    expect(result.router).toEqual({ requests: null, errors: null, retries: null });
    expect(result.notes[0]).toBe("the router's statistics could not be read");
    expect(result.notes[1]).toMatch(/^the clients themselves were stopped once \(longest 300 ms/);
  });
});
