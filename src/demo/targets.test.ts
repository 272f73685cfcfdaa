import { describe, expect, it } from 'vitest';
import { dueBy, loadBoundMs } from './load/generator.js';
import { judgeControl, judgeTargets, latencyBudget } from './targets.js';
import { formatSummary, type DemoSummary } from './summary.js';

const lat = (p99Ms: number | null) => ({ count: 10, p50Ms: p99Ms, p99Ms, maxMs: p99Ms });
const stage = (reads: number, writes: number) => ({
  reads: lat(reads),
  writes: lat(writes),
  notSent: 0,
  clientStopMs: 0,
});
const good = {
  stats: { offered: 1000, total: 990, failed: 0 },
  baseline: { p99Ms: 40 },
  stages: { verify: stage(100, 120), cutover: stage(90, 139) },
  durations: { verify: { durationMs: 20_000 }, cutover: { durationMs: 2_000 } },
  writePauseMs: 320,
};

describe('the demo scale targets', () => {
  it('the budget is max(2 × baseline p99, baseline p99 + 100 ms)', () => {
    expect(latencyBudget(40)).toBe(140);
    expect(latencyBudget(300)).toBe(600);
    expect(latencyBudget(null)).toBeNull();
  });

  it('are met by a kind run', () => {
    const t = judgeTargets(good);
    expect(t).toMatchObject({ met: true, missed: [], latencyBudgetMs: 140, overBudget: [], stagesMs: 22_000 });
    expect(t.sentShare).toBeCloseTo(0.99);
  });

  it('name every miss with its measured value', () => {
    const t = judgeTargets({
      ...good,
      stats: { offered: 1000, total: 900, failed: 3 },
      stages: { ...good.stages, cutover: stage(90, 450) },
      durations: { verify: { durationMs: 170_000 }, cutover: { durationMs: 20_000 } },
      writePauseMs: 500,
    });
    expect(t.met).toBe(false);
    expect(t.overBudget).toEqual([{ stage: 'cutover', class: 'writes', p99Ms: 450 }]);
    expect(t.missed).toEqual([
      '90.0 % of offered requests sent (target 95 %)',
      '3 requests failed (target 0)',
      'client write pause 500 ms (target under 500 ms)',
      'cutover writes p99 450 ms over the budget of 140 ms',
      'stages took 190.0 s together (target under 180 s)',
    ]);
  });

  it("say when the cutover's write p99 is its held writes' (1 % or more of the stage's writes held)", () => {
    const cutover = {
      reads: lat(150),
      writes: { count: 296, p50Ms: 19, p99Ms: 161, maxMs: 161 },
      notSent: 0,
      clientStopMs: 0,
    };
    const t = judgeTargets({ ...good, stages: { ...good.stages, cutover }, held: 32 });
    expect(t.missed).toEqual([
      'cutover reads p99 150 ms over the budget of 140 ms',
      "cutover writes p99 161 ms over the budget of 140 ms (32 of the stage's 296 writes, 11 %, were held by the switch: its p99 is the clients' write pause)",
    ]);
    // Under 1 % held (or nothing held), the miss is the service's, said plainly.
    expect(judgeTargets({ ...good, stages: { ...good.stages, cutover }, held: 2 }).missed[1]).toBe(
      'cutover writes p99 161 ms over the budget of 140 ms',
    );
    expect(judgeTargets({ ...good, stages: { ...good.stages, cutover }, held: null }).missed[1]).toBe(
      'cutover writes p99 161 ms over the budget of 140 ms',
    );
    // A stage in which the clients themselves were stopped still misses, and says so.
    const stopped = { ...cutover, clientStopMs: 512 };
    expect(judgeTargets({ ...good, stages: { ...good.stages, cutover: stopped }, held: null }).missed).toEqual([
      'cutover reads p99 150 ms over the budget of 140 ms (the clients themselves were stopped 512 ms in this stage)',
      'cutover writes p99 161 ms over the budget of 140 ms (the clients themselves were stopped 512 ms in this stage)',
    ]);
  });

  it('a run without a baseline cannot meet them', () => {
    expect(judgeTargets({ ...good, baseline: { p99Ms: null } }).missed).toContain(
      'no baseline latency to judge the stages by',
    );
  });
});

describe('the control (--control): windows with nothing migrating, judged by the same budget', () => {
  it('takes the control-N stages in order and judges each by reads and by writes', () => {
    const c = judgeControl(
      {
        verify: stage(500, 500),
        'control-10': stage(20, 141),
        'control-2': stage(141, 20),
        'control-1': stage(30, 40),
      },
      40,
    );
    expect(c?.latencyBudgetMs).toBe(140);
    expect(c?.windows.map((w) => [w.stage, w.overBudget])).toEqual([
      ['control-1', false],
      ['control-2', true],
      ['control-10', true],
    ]);
    expect(c?.overBudget).toBe(2);
    // A window exactly at the budget is within it, as a stage is (judgeTargets).
    expect(judgeControl({ 'control-1': stage(140, 140) }, 40)?.overBudget).toBe(0);
  });

  it('is absent without control windows, and judges none over without a baseline', () => {
    expect(
      judgeControl({ verify: stage(20, 20), controls: stage(500, 500), 'control-x': stage(500, 500) }, 40),
    ).toBeNull();
    expect(judgeControl({ 'control-1': stage(900, 900) }, null)).toMatchObject({
      overBudget: 0,
      latencyBudgetMs: null,
    });
  });

  it('has a line of its own in the summary, naming the windows over the budget', () => {
    const control = judgeControl({ 'control-1': stage(30, 40), 'control-2': stage(150, 20) }, 40);
    const summary = {
      ok: true,
      runId: 'r',
      stateDir: '/s',
      report: '/r.html',
      requests: {
        offered: 1,
        total: 1,
        failed: 0,
        notSent: 0,
        perSecond: 1,
        clientStops: { count: 0, totalMs: 0, longestMs: 0, notSent: 0 },
      },
      targets: judgeTargets(good),
      latency: {
        warmup: { count: 0, p50Ms: null, p99Ms: null },
        baseline: { p50Ms: 10, p99Ms: 40, window: 1, windows: [] },
        stages: {},
      },
      writes: { acknowledged: 0, lost: 0, duplicated: 0 },
      readYourWritesViolations: 0,
      invariants: { bankTotalPreserved: true },
      cutover: { writePauseMs: null, routerPauseMs: null, held: 0, failed: 0 },
      stages: {},
      throttle: { pauses: 0, pausedMs: 0 },
      cpu: { perRequestMs: {}, cores: {} },
      reconciliation: { clients: {}, router: { requests: 0, errors: 0 }, notes: [] },
      verification: { rowsCompared: 0, identical: true },
      audit: { records: 0, valid: true },
      rollback: { happened: false, stage: null, reason: null, detectionMs: null },
      ...(control ? { control } : {}),
    } as unknown as DemoSummary;
    expect(formatSummary(summary)).toContain(
      '  control       2 windows of the load with nothing migrating: 1 over the budget of 140 ms (control-2 reads p99 150 ms, writes p99 20 ms)',
    );
    const { control: _, ...without } = summary;
    expect(formatSummary(without as DemoSummary)).not.toContain('control');
  });
});

describe('the load ramp', () => {
  it('rises linearly, then runs at the full rate, with as many requests as without a ramp minus half the ramp', () => {
    expect(dueBy(1000, 1000, 0)).toBe(1000);
    expect(dueBy(0, 1000, 3000)).toBe(0);
    expect(dueBy(1500, 1000, 3000)).toBeCloseTo(375); // a quarter of the ramp's area at half time
    expect(dueBy(3000, 1000, 3000)).toBeCloseTo(1500);
    expect(dueBy(4000, 1000, 3000)).toBeCloseTo(2500);
  });
});

describe("the load's bound", () => {
  it('is 15 minutes, or 5 minutes per million orders when longer (a 10 M run outlasts 15 minutes)', () => {
    expect(loadBoundMs(20_000)).toBe(15 * 60_000);
    expect(loadBoundMs(1_000_000)).toBe(15 * 60_000);
    expect(loadBoundMs(3_000_001)).toBe(20 * 60_000);
    expect(loadBoundMs(10_000_000)).toBe(50 * 60_000);
  });
});
