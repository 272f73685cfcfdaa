import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../common/events.js';
import '../../report/events.js';
import { measureTrafficBaseline } from './baseline.js';

function sample(p99Ms: number, requests = 100) {
  const cls = { requests, errors: 0, errorRate: 0, p50Ms: p99Ms / 3, p99Ms };
  return { sites: { source: { reads: cls, writes: { ...cls, p99Ms: p99Ms / 2 } } }, windowMs: 1000 };
}

describe('measureTrafficBaseline', () => {
  it("is the median of the window's run samples, the first one (begun before the window) and other subjects left out", async () => {
    const events = createEventBus();
    const measuring = measureTrafficBaseline(events, 30, 'run');
    events.emit('traffic-sample', sample(900), { subject: 'run' }); // began before the window
    for (const p99 of [12, 11, 300, 10, 13]) events.emit('traffic-sample', sample(p99), { subject: 'run' });
    events.emit('traffic-sample', sample(5000), { subject: 'shift-10' }); // a gate's own window
    events.emit('traffic-sample', sample(4000, 0), { subject: 'run' }); // no requests: no p99
    expect(await measuring).toEqual({ p99Ms: 12, samples: 5, windowMs: 30 });
    // Stopped listening with the window.
    events.emit('traffic-sample', sample(1), { subject: 'run' });
  });

  it('is null without traffic, and rejects when the run is stopped', async () => {
    const events = createEventBus();
    expect(await measureTrafficBaseline(events, 10, 'run')).toEqual({ p99Ms: null, samples: 0, windowMs: 10 });
    const abort = new AbortController();
    const measuring = measureTrafficBaseline(events, 60_000, 'run', abort.signal);
    abort.abort(new Error('stopped'));
    await expect(measuring).rejects.toThrow('stopped');
  });
});
