import { describe, expect, it } from 'vitest';
import type { ClassSample, TrafficSampleEvent } from '../report/events.js';
import { classHealthText, stageTrafficText, summarizeTraffic, type StampedSample } from './traffic-health.js';

function cls(requests: number, errors: number, p99Ms: number | null): ClassSample {
  return { requests, errors, errorRate: requests === 0 ? null : errors / requests, p50Ms: p99Ms, p99Ms };
}

function sample(at: string, stage: string | null, windowMs: number, sites: TrafficSampleEvent['sites']): StampedSample {
  return { at, stage, sample: { sites, windowMs } };
}

describe('per-stage traffic aggregation', () => {
  const samples: StampedSample[] = [
    sample('t1', 'preflight', 1000, { source: { reads: cls(50, 0, 12), writes: cls(10, 0, 30) } }),
    sample('t2', 'verify', 1000, {
      source: { reads: cls(100, 1, 20), writes: cls(20, 0, 38) },
      target: { reads: cls(0, 0, null), writes: cls(0, 0, null) },
    }),
    sample('t3', 'verify', 500, {
      source: { reads: cls(40, 4, 90), writes: cls(10, 0, 25) },
      target: { reads: cls(10, 0, 120), writes: cls(0, 0, null) },
    }),
    sample('t4', 'shift', 2000, {
      source: { reads: cls(0, 0, null), writes: cls(0, 0, null) },
      target: { reads: cls(0, 0, 999), writes: cls(0, 0, null) },
    }),
  ];

  it('adds up each stage: observed time, requests, errors; the worst window p99 (with its site) and error rate', () => {
    const { stages, samples: count } = summarizeTraffic(samples);
    expect(count).toBe(4);
    expect(stages.map((s) => s.stage)).toEqual(['preflight', 'verify', 'shift']);
    expect(stages[0]).toEqual({
      stage: 'preflight',
      observedMs: 1000,
      samples: 1,
      requests: 60,
      errors: 0,
      worstP99Ms: 30,
      worstP99Site: 'source',
      worstErrorRate: 0,
    });
    // verify: 120 + 60 requests; worst p99 is the target's 120 ms; worst window 4 errors of 60.
    expect(stages[1]).toEqual({
      stage: 'verify',
      observedMs: 1500,
      samples: 2,
      requests: 180,
      errors: 5,
      worstP99Ms: 120,
      worstP99Site: 'target',
      worstErrorRate: 4 / 60,
    });
    // A class with no requests says nothing about latency or errors.
    expect(stages[2]).toMatchObject({ requests: 0, worstP99Ms: null, worstErrorRate: null });
  });

  it('keeps the latest window per site and class as requests/s, error rate and p99', () => {
    const { latest } = summarizeTraffic(samples.slice(0, 3));
    expect(latest?.at).toBe('t3');
    expect(latest?.classes.find((c) => c.site === 'source' && c.cls === 'reads')).toEqual({
      site: 'source',
      cls: 'reads',
      requestsPerSecond: 80,
      errorRate: 0.1,
      p99Ms: 90,
    });
    expect(summarizeTraffic([]).latest).toBeNull();
  });

  it('says each stage in words', () => {
    const [, verify] = summarizeTraffic(samples).stages;
    expect(
      stageTrafficText({
        ...verify!,
        observedMs: 41_000,
        requests: 12_300,
        errors: 0,
        worstP99Ms: 38,
        worstP99Site: 'source',
      }),
    ).toBe('verify: 41 s, 12,300 requests, 0 errors, p99 38 ms (source)');
    expect(stageTrafficText(verify!)).toBe(
      'verify: 1.5 s, 180 requests, 5 errors (worst window 6.7 %), p99 120 ms (target)',
    );
    expect(classHealthText({ site: 'source', cls: 'reads', requestsPerSecond: 80, errorRate: 0.1, p99Ms: 90 })).toBe(
      'source reads: 80.0 req/s, errors 10.0 %, p99 90 ms',
    );
  });
});
