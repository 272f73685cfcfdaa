import { describe, expect, it } from 'vitest';
import type { RunDetail, StageView } from '../engine/status.js';
import { createLiveState, foldEvent, type LiveEvent, type LiveState } from './live-state.js';
import { buildLiveView } from './live-view.js';
import { plainLine } from './plain-lines.js';
import { viewLines, visibleLength } from './view-lines.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function stage(name: string, state: string, extra: Partial<StageView> = {}): StageView {
  return {
    name,
    state,
    reason: null,
    started: state === 'pending' ? null : at(0),
    finished: null,
    approvals: [],
    gate: false,
    steps: [],
    ...extra,
  };
}

function status(extra: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 'shop-1',
    plan: 'shop',
    stage: 'verify',
    state: 'running',
    started: at(-60_000),
    updated: at(0),
    planHash: 'h',
    planFile: '/p.yaml',
    reason: null,
    error: null,
    until: null,
    finished: null,
    stages: [
      stage('preflight', 'done'),
      stage('replicate', 'done'),
      stage('verify', 'running', {
        steps: [
          {
            name: 'verify-app',
            key: null,
            state: 'intent',
            attempts: 1,
            epoch: 1,
            error: null,
            intentAt: at(-5000),
            doneAt: null,
            undoneAt: null,
          },
        ],
      }),
      stage('cutover', 'pending', { approvals: [{ role: 'db-owner', approvedBy: null }] }),
    ],
    approvals: [],
    pendingRequests: [],
    lease: { holder: 'host:1', epoch: 1, expires: at(10_000), live: true },
    gateDecisions: [],
    currentGate: null,
    lastDecisions: [],
    approvalWebhooks: [],
    traffic: { latest: null, stages: [] } as unknown as RunDetail['traffic'],
    ...extra,
  };
}

function events(list: Array<[number, string, Record<string, unknown>]>): LiveState {
  const state = createLiveState();
  for (const [ms, type, data] of list) foldEvent(state, { time: at(ms), type, subject: '', data });
  return state;
}

const progress = (chunksDone: number, rowsDone: number): Record<string, unknown> => ({
  database: 'app',
  table: 'public.orders',
  chunksDone,
  chunksTotal: 1000,
  rowsDone,
});

describe('the live view (status + recent events → lines)', () => {
  it('shows the pipeline, the current step and a verification bar with rows/s and the time left', () => {
    const live = events([
      [-2000, 'pg-verify-progress', progress(100, 10_000)],
      [-1000, 'pg-verify-progress', progress(300, 30_000)],
    ]);
    const lines = viewLines(buildLiveView({ status: status(), approvalWait: null, live, now: T0 }), {
      width: 120,
      color: false,
    });
    expect(lines[0]).toBe('handoff run shop-1 (shop): running at verify · 1m00s');
    expect(lines[1]).toBe('✓ preflight  ✓ replicate  ▸ verify  · cutover');
    expect(lines[2]).toBe('step verify-app (5 s)');
    expect(lines[3]).toMatch(
      /^verify app public\.orders \[█{12}░{28}\] {2}30 % {2}300\/1,000 chunks {2}20,000 rows\/s {2}ETA 4 s$/,
    );
  });

  it('does not read 100 % when every chunk is compared but the table is not verified yet; then it does', () => {
    const live = events([
      [-1000, 'pg-verify-progress', progress(900, 90_000)],
      [0, 'pg-verify-progress', progress(1000, 100_000)],
    ]);
    const view = (): string =>
      viewLines(buildLiveView({ status: status(), approvalWait: null, live, now: T0 }), {
        width: 120,
        color: false,
      })[3] ?? '';
    expect(view()).toMatch(/ 99 % {2}1,000\/1,000 chunks/);
    foldEvent(live, {
      time: at(100),
      type: 'pg-table-verified',
      subject: 'public.orders',
      data: { table: 'public.orders' },
    });
    expect(view()).toMatch(/\[█+\] 100 % {2}1,000\/1,000 chunks {2}done$/);
  });

  it('starts a new bar for a re-check pass of the same table', () => {
    const live = events([
      [-2000, 'pg-verify-progress', progress(1000, 100_000)],
      [-1000, 'pg-verify-progress', { ...progress(1, 100), chunksTotal: 3 }],
    ]);
    const line = viewLines(buildLiveView({ status: status(), approvalWait: null, live, now: T0 }), {
      width: 120,
      color: false,
    })[3];
    expect(line).toMatch(/ 33 % {2}1\/3 chunks.*\(re-check 1\)$/);
  });

  it('shows weights, lag, a throttle pause, the last gate decision with its value, and the approval command', () => {
    const live = events([
      [-3000, 'traffic-weights', { reads: { source: 0.75, target: 0.25 }, writes: { source: 1 }, reason: 'shift' }],
      [-2000, 'replication-lag', { database: 'app', lagMs: 120 }],
      [-1000, 'throttle-paused', { work: 'verify', reason: 'lag', value: 2, limit: 1, message: 'lag 2 s over 1 s' }],
    ]);
    const check = {
      gate: 'shift-25',
      check: 'errors',
      metric: 'router.error_rate',
      outcome: 'Fail',
      verdict: null,
      value: 0.05,
      sourceValue: 0.001,
      ratio: null,
      samples: 300,
      sourceSamples: 300,
      threshold: { max: 0.01, minSamples: 100 },
      failures: 1,
      consecutivePasses: 0,
      countedAs: 'fail',
      dryRun: false,
      critical: false,
      reason: '',
      at: at(-500),
    };
    const decision = {
      seq: 9,
      at: at(-500),
      stage: 'shift',
      gate: 'shift-25',
      decision: 'rollback',
      reasons: ['check errors failed'],
      checks: [check],
    };
    const s = status({ lastDecisions: [decision], currentGate: decision, reason: 'waiting for approval' });
    const lines = viewLines(
      buildLiveView({
        status: s,
        approvalWait: { stage: 'cutover', roles: ['db-owner'], timeoutMs: null, at: at(-100) },
        live,
        now: T0,
      }),
      { width: 200, color: false },
    );
    expect(lines).toContain('weights reads source 75 % target 25 % · writes source 100 %');
    expect(lines).toContain('lag app 120 ms');
    expect(lines).toContain('throttle verify paused 1 s: lag 2 s over 1 s');
    expect(lines).toContain('gate shift-25 rollback: check errors failed · errors 0.050 (max 0.010) Fail');
    expect(lines).toContain(
      'approval waiting: cutover needs role db-owner: handoff approve shop-1 --stage cutover --role db-owner --as NAME',
    );
  });

  it('fits every line in the terminal width and colours only when asked', () => {
    const live = events([[-1000, 'pg-verify-progress', { ...progress(10, 1000), table: `public.${'x'.repeat(90)}` }]]);
    const view = buildLiveView({ status: status(), approvalWait: null, live, now: T0 });
    for (const width of [40, 80]) {
      for (const line of viewLines(view, { width, color: true }))
        expect(visibleLength(line)).toBeLessThanOrEqual(width - 1);
    }
    expect(viewLines(view, { width: 80, color: false }).join('\n')).not.toContain('\x1b');
    expect(viewLines(view, { width: 80, color: true }).join('\n')).toContain('\x1b[32m✓ preflight\x1b[0m');
  });

  it('says when no executor holds a running run, and stops the clock at a stopped run', () => {
    const lost = viewLines(
      buildLiveView({
        status: status({ lease: null }),
        approvalWait: null,
        live: createLiveState(),
        now: T0,
      }),
      { width: 120, color: false },
    );
    expect(lost).toContain('no live executor holds this run (handoff resume it?)');
    const done = buildLiveView({
      status: status({ state: 'succeeded', stage: 'finalize', finished: at(-30_000) }),
      approvalWait: null,
      live: createLiveState(),
      now: T0,
    });
    expect(done).toMatchObject({ stopped: true, elapsedMs: 30_000, step: null });
  });
});

describe('plain lines (no terminal)', () => {
  it('says progress, stages and gates in one line each, with no escape codes, and leaves out measurements', () => {
    const state = createLiveState();
    const say = (ms: number, type: string, data: Record<string, unknown>): string | null => {
      const event: LiveEvent = { time: at(ms), type, subject: '', data };
      foldEvent(state, event);
      return plainLine(event, state);
    };
    expect(say(-3000, 'stage-started', { stage: 'verify' })).toBe('09:59:57 stage verify started');
    expect(say(-2000, 'pg-verify-progress', progress(100, 10_000))).toBe(
      '09:59:58 verify app public.orders 10 % (100/1,000 chunks)',
    );
    expect(say(-1000, 'pg-verify-progress', progress(300, 30_000))).toBe(
      '09:59:59 verify app public.orders 30 % (300/1,000 chunks, 20,000 rows/s, ETA 4 s)',
    );
    expect(say(0, 'check-measured', { check: 'errors' })).toBeNull();
    expect(say(0, 'gate-decided', { gate: 'bake', outcome: 'advance', reason: 'all checks pass' })).toBe(
      '10:00:00 gate bake: advance: all checks pass',
    );
  });
});
