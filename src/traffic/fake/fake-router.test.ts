import { describe, expect, it } from 'vitest';
import { AdapterError } from '../../common/errors.js';
import { createFakeRouter } from './fake-router.js';

describe('fake router', () => {
  it('records calls, fails the next call on demand without changing anything', async () => {
    const fake = createFakeRouter();
    fake.failNext('setRoutes', new AdapterError('router unreachable', { retryable: true }));
    await expect(fake.setRoutes({ reads: { target: 1 } })).rejects.toThrow('router unreachable');
    expect((await fake.snapshot()).routes.reads).toEqual({ source: 1, target: 0 });
    await fake.setRoutes({ reads: { target: 1 } });
    expect(fake.calls.map((c) => c.method)).toEqual(['setRoutes', 'snapshot', 'setRoutes']);
  });

  it('simulates traffic through the current routes, with errors and latency per site', async () => {
    const fake = createFakeRouter({ maxReadLagMs: null });
    await fake.setRoutes({ reads: { source: 0.9, target: 0.1 } });
    const got = fake.simulate({
      cls: 'reads',
      count: 1000,
      latencyMs: (s) => (s === 'target' ? 40 : 10),
      fails: (s) => s === 'target',
    });
    expect(got).toEqual({ source: 900, target: 100 });
    const stats = (await fake.snapshot()).stats.sites;
    expect(stats.target?.reads.errors).toBe(100);
    expect(stats.source?.reads.errors).toBe(0);
    expect(stats.target?.reads.p50Ms).toBeCloseTo(40, 0);
    await fake.hold({ classes: ['reads'], maxHoldMs: 1000 });
    expect(fake.simulate({ cls: 'reads', count: 5 })).toEqual({ source: 0, target: 0 });
    expect((await fake.snapshot()).stats.rejected).toBe(5);
    await fake.release();
  });
});
