import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../common/events.js';
import '../../report/events.js';
import { eventLatencySignal } from './signals.js';

function sample(p99ByClass: Array<[number, number | null]>) {
  const cls = ([requests, p99Ms]: [number, number | null]) => ({
    requests,
    errors: 0,
    errorRate: 0,
    p50Ms: p99Ms,
    p99Ms,
  });
  return {
    sites: { source: { reads: cls(p99ByClass[0] ?? [0, null]), writes: cls(p99ByClass[1] ?? [0, null]) } },
    windowMs: 1000,
  };
}

describe('eventLatencySignal', () => {
  it('is null before any sample, then the highest p99 of the classes that had requests', async () => {
    const events = createEventBus();
    const signal = eventLatencySignal(events);
    expect(await signal.read()).toBeNull();
    events.emit(
      'traffic-sample',
      sample([
        [100, 12],
        [0, 900],
      ]),
    );
    expect(await signal.read()).toBe(12);
    signal.close();
  });

  it('takes the median of the latest five samples, so one slow second does not count and a slow trend does', async () => {
    const events = createEventBus();
    const signal = eventLatencySignal(events);
    for (const p99 of [10, 11, 400, 12, 10]) events.emit('traffic-sample', sample([[100, p99]]));
    expect(await signal.read()).toBe(11);
    for (const p99 of [300, 350, 320]) events.emit('traffic-sample', sample([[100, p99]]));
    // the latest five are now 12, 10, 300, 350, 320
    expect(await signal.read()).toBe(300);
    signal.close();
  });

  it('forgets samples older than its bound, and stops listening when closed', async () => {
    const events = createEventBus();
    const signal = eventLatencySignal(events, 0);
    events.emit('traffic-sample', sample([[100, 50]]));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await signal.read()).toBeNull();
    signal.close();
    const other = eventLatencySignal(events);
    other.close();
    events.emit('traffic-sample', sample([[100, 50]]));
    expect(await other.read()).toBeNull();
  });
});
