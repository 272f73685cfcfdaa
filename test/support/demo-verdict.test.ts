import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/demo/summary.js';
import { MACHINE_STOP_MS, loadFigures, notOkOnlyForAMachineStop } from './demo-verdict.js';

const stage = (notSent: number, clientStopMs: number) => ({
  reads: { count: 100, p50Ms: 2, p99Ms: 9, maxMs: 20 },
  writes: { count: 40, p50Ms: 3, p99Ms: 12, maxMs: 25 },
  notSent,
  clientStopMs,
});

/** A short demo's summary in which the whole machine stopped 5.4 s in the shadow stage (CI, 2026-12-07). */
function stoppedRun(): DemoSummary {
  return {
    ok: false,
    runId: 'demo-shop-1',
    stateDir: '/tmp/state',
    report: '/tmp/state/report.html',
    requests: {
      offered: 14_141,
      total: 13_069,
      failed: 0,
      notSent: 1_072,
      perSecond: 180,
      clientStops: { count: 1, totalMs: 5_400, longestMs: 5_400, notSent: 1_010 },
    },
    targets: { met: false, missed: [], sentShare: 0.924, latencyBudgetMs: 110, overBudget: [], stagesMs: 60_000 },
    latency: {
      warmup: { count: 800, p50Ms: 3, p99Ms: 30 },
      baseline: { p50Ms: 2, p99Ms: 10, window: 1, windows: [{ count: 1000, p50Ms: 2, p99Ms: 10, maxMs: 30 }] },
      stages: { verify: stage(0, 0), shadow: stage(1_072, 5_400), shift: stage(0, 0) },
    },
    writes: { acknowledged: 3_000, lost: 0, duplicated: 0 },
    readYourWritesViolations: 0,
    invariants: { bankTotalPreserved: true },
    cutover: { writePauseMs: 40, routerPauseMs: 39, held: 6, failed: 0 },
    stages: { shadow: { durationMs: 27_800 }, finalize: { durationMs: 200 } },
    throttle: { pauses: 0, pausedMs: 0 },
    cpu: { perRequestMs: {}, cores: {} },
    reconciliation: {} as DemoSummary['reconciliation'],
    verification: { rowsCompared: 17_711, identical: true },
    audit: { records: 300, valid: true },
    rollback: { happened: false, stage: null, reason: null, detectionMs: null },
  };
}

describe('a demo NOT ok only for a machine stop', () => {
  it('is accepted when the stop explains the requests not sent and everything else is clean', () => {
    expect(notOkOnlyForAMachineStop(stoppedRun())).toBe(true);
    expect(loadFigures(stoppedRun())).toContain('shadow: 1072 not sent, clients stopped 5400 ms');
  });

  it('is refused when the run was ok, or when too many were not sent outside the stops', () => {
    expect(notOkOnlyForAMachineStop({ ...stoppedRun(), ok: true })).toBe(false);
    const outside = stoppedRun();
    outside.requests.clientStops.notSent = 100; // 972 of 14,141 unsent with the clients running: 6.9 %
    expect(notOkOnlyForAMachineStop(outside)).toBe(false);
  });

  it('is refused when the stops were shorter than a machine stop (a busy thread, a slow service)', () => {
    const short = stoppedRun();
    short.requests.clientStops.longestMs = MACHINE_STOP_MS - 1;
    expect(notOkOnlyForAMachineStop(short)).toBe(false);
  });

  it('is refused when anything else is wrong: a failed request, a lost write, a difference, a rollback, no finalize', () => {
    const spoil: Array<(s: DemoSummary) => void> = [
      (s) => (s.requests.failed = 1),
      (s) => (s.writes.lost = 1),
      (s) => (s.writes.duplicated = 1),
      (s) => (s.readYourWritesViolations = 1),
      (s) => (s.invariants.bankTotalPreserved = false),
      (s) => (s.verification.identical = false),
      (s) => (s.audit.valid = false),
      (s) => (s.rollback.happened = true),
      (s) => delete s.stages.finalize,
    ];
    for (const [i, change] of spoil.entries()) {
      const s = stoppedRun();
      change(s);
      expect(notOkOnlyForAMachineStop(s), `change ${i}`).toBe(false);
    }
  });
});
