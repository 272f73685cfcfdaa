import { describe, expect, it } from 'vitest';
import type { RouterStatsInput } from '../analysis/providers/router-stats.js';
import { createEventBus, type HandoffEvent } from '../common/events.js';
import { sleep } from '../common/net.js';
import type { TrafficSampleEvent } from '../report/events.js';
import { createTrafficTelemetry, sampleBetween } from './traffic-telemetry.js';

/** A router whose cumulative counters the test moves; `fail` makes the next snapshots throw. */
function counters() {
  const c = { reads: 0, readErrors: 0, writes: 0, fail: 0, calls: 0 };
  const stats = async (): Promise<RouterStatsInput> => {
    c.calls++;
    if (c.fail > 0) {
      c.fail--;
      throw new Error('router unreachable');
    }
    return {
      sites: {
        source: {
          reads: { requests: c.reads, errors: c.readErrors, latencyBuckets: c.reads > 0 ? [[10, c.reads]] : [] },
          writes: { requests: c.writes, errors: 0, latencyBuckets: c.writes > 0 ? [[50, c.writes]] : [] },
        },
      },
    };
  };
  return { c, stats };
}

function samplesOf(events: HandoffEvent[]): Array<TrafficSampleEvent & { subject: string }> {
  return events
    .filter((e) => e.type === 'traffic-sample')
    .map((e) => ({ ...(e.data as TrafficSampleEvent), subject: e.subject }));
}

async function settle(): Promise<void> {
  await sleep(20);
}

describe('whole-run traffic telemetry', () => {
  it('closes a window at every stage start, labels it with its stage, and stops at the run end', async () => {
    const { c, stats } = counters();
    const bus = createEventBus({ runId: 'r' });
    const seen: HandoffEvent[] = [];
    bus.on((e) => void seen.push(e));
    const telemetry = createTrafficTelemetry({}, { stats });
    telemetry.attach(bus);
    await settle();
    bus.emit('stage-started', { stage: 'preflight' });
    c.reads += 30;
    await settle();
    bus.emit('stage-started', { stage: 'replicate' });
    await settle();
    c.reads += 100;
    c.readErrors += 2;
    c.writes += 10;
    bus.emit('stage-started', { stage: 'verify' });
    await settle();
    c.reads += 7;
    bus.emit('run-finished', { state: 'succeeded' });
    await settle();
    c.reads += 1000;
    await telemetry.stop();
    const samples = samplesOf(seen);
    expect(samples.every((s) => s.subject === 'run')).toBe(true);
    const byStage = (stage: string) => samples.filter((s) => s.stage === stage);
    const reads = (stage: string) => byStage(stage).reduce((n, s) => n + (s.sites.source?.reads.requests ?? 0), 0);
    expect(reads('preflight')).toBe(30);
    expect(reads('replicate')).toBe(100);
    expect(reads('verify')).toBe(7);
    // Nothing after the run ended: the 1,000 later reads are in no window.
    expect(samples.reduce((n, s) => n + (s.sites.source?.reads.requests ?? 0), 0)).toBe(137);
    const replicate = byStage('replicate').find((s) => s.sites.source?.reads.requests === 100);
    expect(replicate?.sites.source?.reads).toMatchObject({ errors: 2, errorRate: 0.02, p99Ms: 10 });
    expect(replicate?.sites.source?.writes).toMatchObject({ requests: 10, p99Ms: 50 });
    expect(telemetry.counts()).toEqual({ samples: samples.length, failed: 0 });
  });

  it('skips and counts a failed snapshot; the next window covers its time, so no request is lost', async () => {
    const { c, stats } = counters();
    const bus = createEventBus({ runId: 'r' });
    const seen: HandoffEvent[] = [];
    bus.on((e) => void seen.push(e));
    const telemetry = createTrafficTelemetry({}, { stats });
    telemetry.attach(bus);
    await settle();
    bus.emit('stage-started', { stage: 'replicate' });
    await settle();
    c.reads += 40;
    c.fail = 1;
    bus.emit('stage-started', { stage: 'verify' });
    await settle();
    c.reads += 60;
    bus.emit('run-paused', { reason: 'test' });
    await settle();
    await telemetry.stop();
    expect(telemetry.counts().failed).toBe(1);
    const total = samplesOf(seen).reduce((n, s) => n + (s.sites.source?.reads.requests ?? 0), 0);
    expect(total).toBe(100);
  });

  it('samples no faster than once a second, whatever interval is asked', async () => {
    const { c, stats } = counters();
    const bus = createEventBus({ runId: 'r' });
    const telemetry = createTrafficTelemetry({ intervalMs: 10 }, { stats });
    telemetry.attach(bus);
    await sleep(400);
    await telemetry.stop();
    // The first reading at attach and the last at stop: no timer tick in 400 ms.
    expect(c.calls).toBe(2);
  });

  it('a router that restarted counts from zero: the window holds its new counts alone', () => {
    const before: RouterStatsInput = {
      sites: { source: { reads: { requests: 500, errors: 5 }, writes: { requests: 50, errors: 0 } } },
    };
    const now: RouterStatsInput = {
      sites: { source: { reads: { requests: 20, errors: 1 }, writes: { requests: 60, errors: 0 } } },
    };
    const sample = sampleBetween(now, before, 1000);
    expect(sample.sites.source?.reads).toMatchObject({ requests: 20, errors: 1 });
    expect(sample.sites.source?.writes).toMatchObject({ requests: 10, errors: 0, errorRate: 0 });
  });
  it('the error rate is of the requests that ended in the window, never above 1', () => {
    // 10 requests started in the window; 40 ended (held ones released), 30 of them failed.
    const before: RouterStatsInput = {
      sites: {
        source: { reads: { requests: 100, errors: 0, latencyBuckets: [[10, 60]] }, writes: { requests: 0, errors: 0 } },
      },
    };
    const now: RouterStatsInput = {
      sites: {
        source: {
          reads: {
            requests: 110,
            errors: 30,
            latencyBuckets: [
              [10, 70],
              [5000, 30],
            ],
          },
          writes: { requests: 0, errors: 0 },
        },
      },
    };
    const sample = sampleBetween(now, before, 1000);
    expect(sample.sites.source?.reads).toMatchObject({ requests: 10, errors: 30, errorRate: 0.75 });
  });
});
