import { describe, expect, it } from 'vitest';
import {
  decideThrottle,
  initialThrottleState,
  MIN_WORK_SHARE,
  rebaselineFrom,
  restAfterChunkMs,
  type ThrottleLimits,
  type ThrottleMeasurements,
  type ThrottleState,
  PROBE_FRACTION,
  PROBE_STEP,
  WORK_SHARE_STEP,
} from './controller.js';

const limits: ThrottleLimits = {
  maxLatencyRatio: 1.5,
  latencyFloorMs: 20,
  maxReplicationLagMs: 5000,
  maxSourceLoad: 25,
  criticalSourceLoad: 200,
  chunkTargetMs: 500,
  minChunkRows: 1000,
  maxChunkRows: 10_000,
};

const calm: ThrottleMeasurements = { routerP99Ms: 40, baselineP99Ms: 40, replicationLagMs: 100, sourceLoad: 3 };

describe('decideThrottle', () => {
  it('goes at the largest chunk while every measurement is inside the budget', () => {
    const { decision } = decideThrottle(limits, initialThrottleState(limits), calm);
    expect(decision).toEqual({ kind: 'go', chunkRows: 10_000 });
  });

  it('pauses on router p99 above baseline × ratio, with the measured value and the limit', () => {
    const { decision } = decideThrottle(limits, initialThrottleState(limits), { ...calm, routerP99Ms: 61 });
    expect(decision.kind).toBe('pause');
    if (decision.kind !== 'pause') return;
    expect(decision).toMatchObject({ reason: 'latency', value: 61, limit: 60 });
    expect(decision.message).toContain('router p99 61 ms is above 60 ms');
  });

  it('reports latency value and limit to a tenth of a millisecond', () => {
    const open = { ...limits, latencyFloorMs: 0 };
    const { decision } = decideThrottle(open, initialThrottleState(open), {
      ...calm,
      baselineP99Ms: 12.345,
      routerP99Ms: 1933.311,
    });
    expect(decision).toMatchObject({ kind: 'pause', value: 1933.3, limit: 18.5 });
  });

  it('does not pause at exactly the limit', () => {
    expect(decideThrottle(limits, initialThrottleState(limits), { ...calm, routerP99Ms: 60 }).decision.kind).toBe('go');
  });

  it('never pauses on latency under the floor, however small the baseline', () => {
    const measured = { ...calm, baselineP99Ms: 2, routerP99Ms: 19 };
    expect(decideThrottle(limits, initialThrottleState(limits), measured).decision.kind).toBe('go');
    const { decision } = decideThrottle(limits, initialThrottleState(limits), { ...measured, routerP99Ms: 21 });
    expect(decision).toMatchObject({ kind: 'pause', reason: 'latency', limit: 20 });
  });

  it('ignores latency without a baseline or without traffic (null), and goes', () => {
    expect(
      decideThrottle(limits, initialThrottleState(limits), { ...calm, baselineP99Ms: null, routerP99Ms: 5000 }).decision
        .kind,
    ).toBe('go');
    expect(decideThrottle(limits, initialThrottleState(limits), { ...calm, routerP99Ms: null }).decision.kind).toBe(
      'go',
    );
  });

  it('pauses on replication lag above the limit', () => {
    const { decision } = decideThrottle(limits, initialThrottleState(limits), { ...calm, replicationLagMs: 7200 });
    expect(decision).toMatchObject({ kind: 'pause', reason: 'replication-lag', value: 7200, limit: 5000 });
  });

  it('pauses on source load above the limit and aborts at the critical limit', () => {
    expect(decideThrottle(limits, initialThrottleState(limits), { ...calm, sourceLoad: 26 }).decision).toMatchObject({
      kind: 'pause',
      reason: 'source-load',
      value: 26,
      limit: 25,
    });
    const { decision } = decideThrottle(limits, initialThrottleState(limits), {
      ...calm,
      sourceLoad: 200,
      routerP99Ms: 900,
    });
    expect(decision).toMatchObject({ kind: 'abort', reason: 'source-load', value: 200, limit: 200 });
  });

  it('does not watch source load when no limit is set', () => {
    const open = { ...limits, maxSourceLoad: null, criticalSourceLoad: null };
    expect(decideThrottle(open, initialThrottleState(open), { ...calm, sourceLoad: 10_000 }).decision.kind).toBe('go');
  });

  it('names latency first when several limits are exceeded at once', () => {
    const { decision } = decideThrottle(limits, initialThrottleState(limits), {
      ...calm,
      routerP99Ms: 500,
      replicationLagMs: 9000,
      sourceLoad: 90,
    });
    expect(decision).toMatchObject({ kind: 'pause', reason: 'latency' });
  });

  it('resumes (go) once the breach clears', () => {
    let state = initialThrottleState(limits);
    const sequence = [150, 120, 55, 40].map((p99) => {
      const result = decideThrottle(limits, state, { ...calm, routerP99Ms: p99 });
      state = result.state;
      return result.decision.kind;
    });
    expect(sequence).toEqual(['pause', 'pause', 'go', 'go']);
  });

  it('shrinks chunks that run longer than the target time, within the minimum', () => {
    let state: ThrottleState = initialThrottleState(limits);
    // 10,000 rows took 2 s: 5 rows/ms, so 0.5 s is 2,500 rows.
    state = decideThrottle(limits, state, { ...calm, lastChunk: { rows: 10_000, durationMs: 2000 } }).state;
    expect(state.chunkRows).toBe(2500);
    // a starved server: 100 rows in 1 s pulls the average down, never below the minimum
    for (let i = 0; i < 20; i++)
      state = decideThrottle(limits, state, { ...calm, lastChunk: { rows: 100, durationMs: 1000 } }).state;
    expect(state.chunkRows).toBe(1000);
  });

  it('grows chunks back as they get fast again, up to the maximum, smoothed by the average', () => {
    let state: ThrottleState = {
      chunkRows: 1000,
      rowsPerMs: 2,
      workShare: 1,
      latencyBreached: false,
      breachShare: null,
    };
    const first = decideThrottle(limits, state, { ...calm, lastChunk: { rows: 1000, durationMs: 10 } });
    // 0.75 × 2 + 0.25 × 100 = 26.5 rows/ms → 13,250 rows, capped at 10,000
    expect(first.state.rowsPerMs).toBeCloseTo(26.5);
    expect(first.decision).toEqual({ kind: 'go', chunkRows: 10_000 });
    state = { chunkRows: 1000, rowsPerMs: 2, workShare: 1, latencyBreached: false, breachShare: null };
    const slow = decideThrottle(limits, state, { ...calm, lastChunk: { rows: 1000, durationMs: 200 } });
    // 0.75 × 2 + 0.25 × 5 = 2.75 rows/ms → 1,375 rows
    expect(slow.state.chunkRows).toBe(1375);
  });

  it('keeps adapting the chunk size while paused, so it resumes at the right size', () => {
    const { decision, state } = decideThrottle(limits, initialThrottleState(limits), {
      ...calm,
      replicationLagMs: 9000,
      lastChunk: { rows: 10_000, durationMs: 4000 },
    });
    expect(decision.kind).toBe('pause');
    expect(state.chunkRows).toBe(1250);
  });

  it('ignores an empty or nonsensical chunk', () => {
    const start = initialThrottleState(limits);
    expect(decideThrottle(limits, start, { ...calm, lastChunk: { rows: 0, durationMs: 10 } }).state).toEqual(start);
    expect(decideThrottle(limits, start, { ...calm, lastChunk: { rows: 10, durationMs: Number.NaN } }).state).toEqual(
      start,
    );
  });
});

describe('restAfterChunkMs (nice ratio and backoff)', () => {
  const rest = (niceRatio: number | undefined, ms: number) =>
    restAfterChunkMs(initialThrottleState({ ...limits, ...(niceRatio === undefined ? {} : { niceRatio }) }), ms);

  it('rests nothing without a ratio, and the ratio times the chunk with one', () => {
    expect(rest(undefined, 200)).toBe(0);
    expect(rest(0, 200)).toBe(0);
    expect(rest(1, 200)).toBe(200);
    expect(rest(0.7, 10)).toBe(7);
    expect(rest(2, 0)).toBe(0);
  });

  it('rests (1 / share − 1) × the chunk at a lowered share', () => {
    expect(restAfterChunkMs({ workShare: 0.5 }, 200)).toBe(200);
    expect(restAfterChunkMs({ workShare: 0.2 }, 100)).toBe(400);
    expect(restAfterChunkMs({ workShare: 1 }, 100)).toBe(0);
  });
});

describe('backoff after a latency breach (additive increase, multiplicative decrease)', () => {
  const run = (start: ThrottleState, p99s: Array<number | null>, lim: ThrottleLimits = limits) => {
    let state = start;
    const shares: number[] = [];
    for (const routerP99Ms of p99s) {
      state = decideThrottle(lim, state, { ...calm, routerP99Ms }).state;
      shares.push(state.workShare);
    }
    return { state, shares };
  };

  it('halves the share once per breach, however many decisions the pause lasts', () => {
    const { shares } = run(initialThrottleState(limits), [150, 150, 150, 150]);
    expect(shares).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('halves it again at the next breach, down to the least share', () => {
    // breach, inside, breach, inside, breach, ... : each breach after a go halves the share
    const { shares } = run(initialThrottleState(limits), [150, 40, 150, 40, 150, 40, 150]);
    const s1 = 0.5;
    const s2 = (s1 + WORK_SHARE_STEP) / 2;
    const s3 = Math.max(MIN_WORK_SHARE, (s2 + WORK_SHARE_STEP) / 2);
    expect(shares[0]).toBe(s1);
    expect(shares[2]).toBeCloseTo(s2, 2);
    expect(shares[4]).toBeCloseTo(s3, 2);
    expect(shares[6]).toBe(MIN_WORK_SHARE);
  });

  it('gives the share back a step per decision inside the limit, slower near the breach, up to the full share, and not without a measurement', () => {
    const after = run(initialThrottleState(limits), [150]).state;
    expect(after.workShare).toBe(0.5);
    expect(after.breachShare).toBe(1);
    const still = run(after, [null, null]).state;
    expect(still.workShare).toBe(0.5);
    // 0.5 → 0.75 (PROBE_FRACTION of the breach's 1) a full step at a time, then a probe step at a time
    const fast = Math.round((PROBE_FRACTION - 0.5) / WORK_SHARE_STEP);
    const slow = Math.ceil((1 - PROBE_FRACTION) / PROBE_STEP);
    const { shares, state } = run(after, Array<number>(fast + slow + 5).fill(40));
    expect(shares[0]).toBeCloseTo(0.5 + WORK_SHARE_STEP, 3);
    expect(shares[fast - 1]).toBeCloseTo(PROBE_FRACTION, 3);
    expect(shares[fast]).toBeCloseTo(PROBE_FRACTION + PROBE_STEP, 3);
    expect(shares[fast + 10]).toBeCloseTo(PROBE_FRACTION + 11 * PROBE_STEP, 3);
    expect(shares.at(-1)).toBe(1);
    expect(Math.max(...shares)).toBe(1);
    expect(state.breachShare).toBeNull();
  });

  it('remembers the share of the last breach, and forgets it once the share is back at it without one', () => {
    // breach at 0.6 → 0.3; back to 0.45 (0.75 × 0.6) in full steps, then probe steps; reaching 0.6 forgets it
    const start: ThrottleState = { ...initialThrottleState(limits), workShare: 0.6 };
    const broke = run(start, [150]).state;
    expect(broke).toMatchObject({ workShare: 0.3, breachShare: 0.6 });
    const near = run(broke, Array<number>(6).fill(40)).state;
    expect(near.workShare).toBeCloseTo(0.45, 3);
    expect(run(near, [40]).state.workShare).toBeCloseTo(0.45 + PROBE_STEP, 3);
    const past = run(near, Array<number>(30).fill(40)).state;
    expect(past.workShare).toBeCloseTo(0.6, 3);
    expect(past.breachShare).toBeNull();
    expect(run(past, [40]).state.workShare).toBeCloseTo(0.6 + WORK_SHARE_STEP, 3);
    // a breach while probing lowers both
    const again = run(run(near, [40, 40]).state, [150]).state;
    expect(again).toMatchObject({ workShare: 0.23, breachShare: 0.46 });
  });

  it('never gives back more than the nice ratio allows', () => {
    const nice: ThrottleLimits = { ...limits, niceRatio: 1 };
    const start = initialThrottleState(nice);
    expect(start.workShare).toBe(0.5);
    const { shares } = run(start, [150, ...Array<number>(40).fill(40)], nice);
    expect(shares[0]).toBe(0.25);
    expect(Math.max(...shares)).toBe(0.5);
  });

  it('aims chunks at the target time × the share', () => {
    // 10 rows/ms: 5,000 rows in 0.5 s at a share of 1; a breach halves the share and the chunk.
    const measured = { ...calm, lastChunk: { rows: 5000, durationMs: 500 } };
    const full = decideThrottle(limits, initialThrottleState(limits), measured).state;
    expect(full.chunkRows).toBe(5000);
    const backedOff = decideThrottle(limits, full, { ...calm, routerP99Ms: 150 });
    expect(backedOff.decision.kind).toBe('pause');
    expect(backedOff.state.chunkRows).toBe(2500);
    expect(restAfterChunkMs(backedOff.state, 250)).toBe(250);
  });

  it('does not lower the share on a pause for replication lag or source load', () => {
    const lagging = { ...calm, replicationLagMs: 9000, sourceLoad: 90 };
    const { decision, state } = decideThrottle(limits, initialThrottleState(limits), { ...lagging, routerP99Ms: null });
    expect(decision).toMatchObject({ kind: 'pause', reason: 'replication-lag' });
    expect(state.workShare).toBe(1);
    // Backed off before: such a pause with the latency inside its limit still gives a step back.
    const backedOff = { ...initialThrottleState(limits), workShare: 0.5 };
    expect(decideThrottle(limits, backedOff, lagging).state.workShare).toBeCloseTo(0.5 + WORK_SHARE_STEP, 3);
  });
});

describe('rebaselineFrom', () => {
  const rule: ThrottleLimits = { ...limits, rebaselineAfterMs: 15_000 };
  const pause = (p99s: number[], everyMs = 1000) => p99s.map((p99Ms, i) => ({ atMs: (i + 1) * everyMs, p99Ms }));

  it('takes the lowest p99 measured once the pause settled, when pausing did not bring it under the limit', () => {
    // Paused 15 s; the first 5 s (queue draining) are left out: 60 ms is the best the service did.
    const measured = pause([300, 200, 120, 90, 80, 70, 65, 60, 62, 61, 63, 64, 60, 66, 61]);
    expect(rebaselineFrom(rule, 16, 15_000, measured)).toBe(60);
  });

  it('waits for rebaselineAfter, and never applies when it is 0', () => {
    const measured = pause([50, 50, 50, 50, 50, 50, 50, 50, 50, 50]);
    expect(rebaselineFrom(rule, 16, 10_000, measured)).toBeNull();
    expect(rebaselineFrom({ ...limits, rebaselineAfterMs: 0 }, 16, 60_000, pause(Array(60).fill(50)))).toBeNull();
    expect(rebaselineFrom(limits, 16, 60_000, pause(Array(60).fill(50)))).toBeNull();
  });

  it('needs a settled measurement, and never lowers the baseline', () => {
    expect(rebaselineFrom(rule, 16, 15_000, [])).toBeNull();
    expect(rebaselineFrom(rule, 16, 15_000, [{ atMs: 1000, p99Ms: 90 }])).toBeNull();
    expect(rebaselineFrom(rule, 80, 15_000, pause(Array(15).fill(50)))).toBeNull();
    expect(rebaselineFrom(rule, null, 15_000, pause(Array(15).fill(50)))).toBe(50);
  });

  it('settles for half of a short rebaselineAfter', () => {
    const short: ThrottleLimits = { ...limits, rebaselineAfterMs: 40 };
    const measured = [
      { atMs: 10, p99Ms: 500 },
      { atMs: 25, p99Ms: 45 },
      { atMs: 40, p99Ms: 48 },
    ];
    expect(rebaselineFrom(short, 10, 40, measured)).toBe(45);
  });
});
