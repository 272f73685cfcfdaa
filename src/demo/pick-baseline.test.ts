import { describe, expect, it } from 'vitest';
import { baselineWindow, createClientLatency } from './load/client-latency.js';
import { pickBaseline } from './summarize.js';
import { quieterOf } from './summary.js';

/** A window of `n` requests of `ms` each, and `slow` of them at `slowMs` (a stall). */
function fill(
  latency: ReturnType<typeof createClientLatency>,
  stage: string,
  n: number,
  ms: number,
  slow = 0,
  slowMs = 0,
) {
  for (let i = 0; i < n; i++) latency.record(stage, i % 2 ? 'reads' : 'writes', 0, i < slow ? slowMs : ms);
}

describe('the clients’ baseline, the quietest of the windows before the run', () => {
  it('takes the window with the lower p99: a stall in one window does not widen the budget', () => {
    const latency = createClientLatency('warmup');
    fill(latency, baselineWindow(1), 5000, 3, 60, 164); // 1.2 % of the window stalled: p99 164 ms
    fill(latency, baselineWindow(2), 5000, 3, 60, 10); // 1.2 % at 10 ms: p99 10 ms
    latency.setStage('preflight');
    fill(latency, 'preflight', 100, 5);
    const picked = pickBaseline(latency, Object.keys(latency.stages()));
    expect(picked.window).toBe(2);
    expect(picked.stages).toEqual(['baseline-1', 'baseline-2']);
    // Within the histogram's 3 % of 10 ms.
    expect(picked.baseline.p99Ms).toBeGreaterThan(9.6);
    expect(picked.baseline.p99Ms).toBeLessThan(10.4);
    expect(picked.windows.map((w) => Math.round(w.p99Ms as number))).toEqual([164, 10]);
  });

  it('orders the windows by number, keeps the first of equals, and takes a lone `baseline` as window 1', () => {
    const latency = createClientLatency('warmup');
    for (const n of [10, 2, 1]) fill(latency, baselineWindow(n), 1000, 4);
    const picked = pickBaseline(latency, Object.keys(latency.stages()));
    expect(picked.stages).toEqual(['baseline-1', 'baseline-2', 'baseline-10']);
    expect(picked.window).toBe(1);

    const lone = createClientLatency();
    fill(lone, 'baseline', 1000, 4);
    expect(pickBaseline(lone, Object.keys(lone.stages())).window).toBe(1);
  });

  it('skips an empty window, and says so when there is none with requests', () => {
    const latency = createClientLatency('warmup');
    latency.setStage(baselineWindow(1)); // no request came back in it
    fill(latency, baselineWindow(2), 1000, 50);
    expect(pickBaseline(latency, Object.keys(latency.stages())).window).toBe(2);

    const none = createClientLatency('warmup');
    none.setStage(baselineWindow(1));
    const picked = pickBaseline(none, Object.keys(none.stages()));
    expect(picked.window).toBeNull();
    expect(picked.baseline).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null });
    // 'baseline-x' and 'baselines' are not windows.
    expect(pickBaseline(none, ['baseline-x', 'baselines', 'baseline-1']).stages).toEqual(['baseline-1']);
  });
});

describe('the summary in words', () => {
  it('names the windows the baseline was chosen from, and nothing for one window', () => {
    const windows = [
      { count: 5000, p50Ms: 3, p99Ms: 164, maxMs: 200 },
      { count: 5000, p50Ms: 3, p99Ms: 10, maxMs: 20 },
    ];
    expect(quieterOf({ p50Ms: 3, p99Ms: 10, window: 2, windows })).toBe(
      ' (the quieter of 2 windows: p99 164 ms and 10 ms)',
    );
    expect(quieterOf({ p50Ms: 3, p99Ms: 10, window: 1, windows: windows.slice(1) })).toBe('');
  });
});
