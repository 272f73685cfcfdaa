import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { collectSeries } from './series.js';
import type { RunTrail, TrailEntry } from './trail-reader.js';

/** A trail in memory: entries of any action, validated by `pick` like the real reader. */
function trailOf(entries: Array<{ action: string; subject: string; data: unknown }>): RunTrail {
  return {
    records: [],
    unreadable: [],
    pick<S extends z.ZodType>(action: string, schema: S): Array<TrailEntry<z.output<S>>> {
      return entries.flatMap((e, i) =>
        e.action === action
          ? [
              {
                seq: i + 1,
                time: new Date(1_000_000 + i * 1000).toISOString(),
                actor: 'router',
                subject: e.subject,
                data: schema.parse(e.data),
              },
            ]
          : [],
      );
    },
  };
}

const cls = (requests: number, errors: number) => ({
  requests,
  errors,
  errorRate: requests ? errors / requests : null,
  p50Ms: 3,
  p99Ms: 9,
});
const sample = (subject: string, requests: number, errors: number) => ({
  action: 'traffic-sample',
  subject,
  data: {
    windowMs: 1000,
    sites: {
      source: { reads: cls(requests, errors), writes: cls(0, 0) },
      target: { reads: cls(0, 0), writes: cls(0, 0) },
    },
  },
});

describe('report series: whole-run samples and the clients count', () => {
  it('reads only the whole-run samples when the run has them (the gate windows overlap them)', () => {
    const series = collectSeries(trailOf([sample('run', 100, 1), sample('shift-10', 500, 5), sample('run', 100, 0)]));
    expect(series.totals.requests).toBe(200);
    expect(series.totals.failedRequests).toBe(1);
    expect(series.traffic.filter((p) => p.site === 'source' && p.cls === 'reads')).toHaveLength(2);
  });

  it('falls back to the gate windows when no whole-run sample exists', () => {
    const series = collectSeries(trailOf([sample('shift-10', 500, 5)]));
    expect(series.totals.requests).toBe(500);
    expect(series.totals.clients).toBeNull();
  });

  /** A `client-traffic` record's details, as the demo writes them. */
  const clients = {
    offered: 1000,
    sent: 950,
    notSent: 50,
    failed: 12,
    failedWithoutAnswer: 10,
    routerRequests: 950,
    routerErrors: 2,
    notes: ['50 not sent'],
  };

  it("carries the clients' own count, which the report shows as its failed-request figure", () => {
    const series = collectSeries(
      trailOf([sample('run', 950, 2), { action: 'client-traffic', subject: 'clients', data: clients }]),
    );
    expect(series.totals.clients).toEqual({
      offered: 1000,
      sent: 950,
      notSent: 50,
      failed: 12,
      routerErrors: 2,
      notes: ['50 not sent'],
      writePauseMs: null,
    });
    expect(series.totals.failedRequests).toBe(2);
  });

  it("carries the clients' write pause when the event has it (null when nothing was held)", () => {
    const of = (extra: object) =>
      collectSeries(trailOf([{ action: 'client-traffic', subject: 'clients', data: { ...clients, ...extra } }])).totals
        .clients?.writePauseMs;
    expect(of({ writePauseMs: 93.5 })).toBe(93.5);
    expect(of({ writePauseMs: null })).toBeNull();
    expect(of({})).toBeNull();
  });
});
