import { describe, expect, it } from 'vitest';
import type { CheckSpec } from '../plan/schema.js';
import { resolveCheck, type CheckConfig } from './check-config.js';
import { evaluateCheck } from './check-evaluate.js';
import { applyEvaluation, initialCheckState, isDue, nextDueAt, withVerdict, type CheckState } from './check-state.js';
import type { SiteReading } from './measurement.js';
import { ok, type RecordedStep } from './providers/fake.js';

function config(overrides: Partial<CheckSpec> = {}): CheckConfig {
  return resolveCheck({
    name: 'errors',
    metric: 'router.error_rate',
    critical: false,
    dryRun: false,
    onNoData: 'hold',
    onError: 'hold',
    interval: '1s',
    minSamples: 100,
    consecutiveSuccesses: 3,
    ...overrides,
  });
}

const rate = (r: number, samples = 1000): SiteReading => ok({ error_rate: r }, samples);
const pair = (target: number, source = 0.01, samples = 1000): RecordedStep => ({
  source: rate(source, 5000),
  target: rate(target, samples),
});

/** Runs a check over a recorded series, one measurement a second; returns every state. */
function run(cfg: CheckConfig, series: RecordedStep[], start = 0): CheckState[] {
  let state = initialCheckState(cfg, start);
  const states: CheckState[] = [];
  series.forEach((step, i) => {
    const now = start + cfg.initialDelayMs + i * cfg.intervalMs;
    const evaluation = evaluateCheck(cfg, { at: now, windowMs: cfg.windowMs, sites: step });
    state = applyEvaluation(cfg, state, evaluation, now);
    states.push(state);
  });
  return states;
}
const verdicts = (states: CheckState[]) => states.map((s) => s.verdict);
const outcomes = (states: CheckState[]) => states.map((s) => s.last?.outcome);

describe('check state machine over recorded series', () => {
  it('passes after consecutiveSuccesses passes with the target in line with the source', () => {
    const states = run(config(), [pair(0.01), pair(0.0105), pair(0.009)]);
    expect(outcomes(states)).toEqual(['Pass', 'Pass', 'Pass']);
    expect(verdicts(states)).toEqual(['waiting', 'waiting', 'ready']);
    expect(states[2]?.reason).toMatch(/3 consecutive passes/);
    expect(states[2]?.last?.ratio).toBeCloseTo(0.9, 5);
  });

  it('fails when the target error rate is at least 2x the source (default ratio), after failureLimit', () => {
    const states = run(config(), [pair(0.01), pair(0.05), pair(0.06)]);
    expect(outcomes(states)).toEqual(['Pass', 'Fail', 'Fail']);
    expect(verdicts(states)).toEqual(['waiting', 'waiting', 'failed']);
    expect(states[2]?.reason).toMatch(/2 failed measurements exceed failureLimit 1/);
    expect(states[2]?.last?.reason).toMatch(/target error_rate 0.06 is 6× the source's 0.01, at or above fail 2/);
    expect(states[2]?.last?.threshold).toEqual({ warn: 1.1, fail: 2, minSamples: 100 });
  });

  it('holds (Inconclusive) between warn and fail, and never advances on it', () => {
    const states = run(config(), [pair(0.015), pair(0.015), pair(0.015), pair(0.015)]);
    expect(outcomes(states)).toEqual(['Inconclusive', 'Inconclusive', 'Inconclusive', 'Inconclusive']);
    expect(verdicts(states)).toEqual(['holding', 'holding', 'holding', 'holding']);
    expect(states[0]?.last?.reason).toMatch(/1.5× .* at or above warn 1.1/);
  });

  it('NoData holds, never fails by default, and escalates after escalateAfter', () => {
    const cfg = config({ escalateAfter: '3s' });
    const noData: RecordedStep = { source: rate(0.01, 5000), target: { status: 'no-data', reason: 'no requests' } };
    const states = run(cfg, [noData, noData, noData, noData, noData]);
    expect(outcomes(states)).toEqual(['NoData', 'NoData', 'NoData', 'NoData', 'NoData']);
    expect(verdicts(states)).toEqual(['holding', 'holding', 'holding', 'escalated', 'escalated']);
    expect(states.every((s) => s.failures === 0)).toBe(true);
    expect(states[3]?.reason).toMatch(/unable to judge for 3 s/);
  });

  it('Error holds and escalates; a Pass ends the hold', () => {
    const cfg = config({ escalateAfter: '2s', consecutiveSuccesses: 1 });
    const error: RecordedStep = { target: { status: 'error', reason: 'connection refused', retryable: true } };
    const states = run(cfg, [error, error, error, pair(0.01)]);
    expect(outcomes(states)).toEqual(['Error', 'Error', 'Error', 'Pass']);
    expect(verdicts(states)).toEqual(['holding', 'holding', 'escalated', 'ready']);
    expect(states[0]?.reason).toMatch(/measuring the target failed: connection refused/);
    expect(states[3]?.holdingSince).toBeNull();
  });

  it('an Error on the source side of a relative check holds too', () => {
    const states = run(config(), [
      { source: { status: 'error', reason: 'timeout', retryable: true }, target: rate(0.5) },
    ]);
    expect(outcomes(states)).toEqual(['Error']);
    expect(states[0]?.last?.reason).toMatch(/cannot compare with the source: measuring the source failed: timeout/);
  });

  it('onNoData: fail and onError: fail count them as failures (opt-in)', () => {
    const noData: RecordedStep = { target: { status: 'no-data', reason: 'empty' } };
    const states = run(config({ onNoData: 'fail', failureLimit: 0 }), [noData]);
    expect(verdicts(states)).toEqual(['failed']);
    expect(states[0]?.reason).toMatch(/NoData counted as fail/);
  });

  it('flapping never reaches consecutive passes and fails once cumulative Fails exceed the limit', () => {
    const states = run(config({ failureLimit: 2 }), [
      pair(0.01),
      pair(0.05),
      pair(0.01),
      pair(0.05),
      pair(0.01),
      pair(0.01),
      pair(0.05),
    ]);
    expect(verdicts(states)).toEqual(['waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'failed']);
    expect(states.some((s) => s.verdict === 'ready')).toBe(false);
  });

  it('too few samples is Inconclusive, even when the value looks bad', () => {
    const states = run(config(), [pair(0.5, 0.01, 20)]);
    expect(outcomes(states)).toEqual(['Inconclusive']);
    expect(states[0]?.last?.reason).toBe('too few samples on the target (20 < minSamples 100)');
    expect(states[0]?.failures).toBe(0);
  });

  it('a critical check fails at the first breach', () => {
    const states = run(config({ critical: true, failureLimit: 5 }), [pair(0.01), pair(0.03)]);
    expect(verdicts(states)).toEqual(['waiting', 'failed']);
    expect(states[1]?.reason).toMatch(/^critical check breached: Fail: /);
  });

  it('a failed check stays failed for the step and is no longer due', () => {
    const cfg = config({ critical: true });
    const [failed] = run(cfg, [pair(0.5)]);
    expect(failed?.verdict).toBe('failed');
    expect(isDue(cfg, failed!, 1e9)).toBe(false);
    expect(withVerdict(cfg, failed!, 1e9).verdict).toBe('failed');
  });

  it('absolute limits fail on their own; a source at 0 errors counts as the 0.1 % floor', () => {
    const cfg = config({ max: 0.02, relativeToSource: { fail: 2 } });
    const [overMax] = run(cfg, [pair(0.05, 0.05)]);
    expect(overMax?.last?.outcome).toBe('Fail');
    expect(overMax?.last?.reason).toMatch(/^target error_rate 0.05 is above max 0.02 \(50 errors in 1000 requests, p=/);
    const [zeroSource] = run(cfg, [pair(0.0015, 0)]);
    expect(zeroSource?.last?.outcome).toBe('Inconclusive'); // 1.5x the floor: above warn 1.1, below fail 2
    expect(zeroSource?.last?.reason).toMatch(/counted as 0.001/);
    const [bothZero] = run(cfg, [pair(0, 0)]);
    expect(bothZero?.last?.outcome).toBe('Pass');
  });

  it('judges by absolute limits alone when the source had no traffic (100 % of reads on the target)', () => {
    const idle: RecordedStep = { source: { status: 'no-data', reason: 'no requests' }, target: rate(0.004) };
    const [withMax] = run(config({ max: 0.01, relativeToSource: { fail: 2 }, consecutiveSuccesses: 1 }), [idle]);
    expect(withMax?.last).toMatchObject({
      outcome: 'Pass',
      reason: expect.stringMatching(/within its absolute limits; the source had no observations/),
    });
    const [ratioOnly] = run(config(), [idle]);
    expect(ratioOnly?.last).toMatchObject({
      outcome: 'NoData',
      reason: 'cannot compare with the source: no data for the source: no requests',
    });
  });

  it('does not fail on an error-rate breach that chance explains (few requests), and fails on one it does not', () => {
    // Source at 0.5 % over 5000 requests; target 2 errors in 200 (1 %, ratio 2): a quarter of steps see this by chance.
    const [chance] = run(config({ minSamples: 100 }), [{ source: rate(0.005, 5000), target: rate(0.01, 200) }]);
    expect(chance?.last).toMatchObject({ outcome: 'Inconclusive', ratio: 2 });
    expect(chance?.last?.reason).toMatch(
      /at or above fail 2, but not significant \(2 errors in 200 target requests, 25 in 5000 source requests, p=0.2/,
    );
    const [real] = run(config({ minSamples: 100 }), [{ source: rate(0.005, 5000), target: rate(0.05, 200) }]);
    expect(real?.last?.outcome).toBe('Fail');
    // An absolute limit: 3 errors in 200 requests is 1.5 %, above max 1 %, but likely at a true 1 %.
    const [few] = run(config({ max: 0.01, minSamples: 100 }), [
      { source: rate(0.005, 5000), target: rate(0.015, 200) },
    ]);
    expect(few?.last).toMatchObject({
      outcome: 'Inconclusive',
      reason: expect.stringMatching(/3 errors in 200 requests are not significant/),
    });
  });

  it('respects the initial delay and the interval', () => {
    const cfg = config({ initialDelay: '10s' });
    const state = initialCheckState(cfg, 1000);
    expect(isDue(cfg, state, 5000)).toBe(false);
    expect(nextDueAt(cfg, state)).toBe(11_000);
    const after = applyEvaluation(
      cfg,
      state,
      evaluateCheck(cfg, { at: 11_000, windowMs: 2000, sites: pair(0.01) }),
      11_000,
    );
    expect(isDue(cfg, after, 11_500)).toBe(false);
    expect(isDue(cfg, after, 12_000)).toBe(true);
  });

  it('a check without a value field for the target is an Error, not a Pass', () => {
    const states = run(config(), [{ source: rate(0.01), target: ok({ other: 1 }, 1000) }]);
    expect(outcomes(states)).toEqual(['Error']);
  });
});

describe('resolveCheck', () => {
  it('fills in DESIGN defaults and refuses a check with no condition', () => {
    const p99 = resolveCheck({
      name: 'p99',
      metric: 'router.latency_p99_ms',
      critical: false,
      dryRun: false,
      onNoData: 'hold',
      onError: 'hold',
    });
    expect(p99.relative).toEqual({ warn: 1.2, fail: 1.5, floor: 1 });
    expect(p99.windowMs).toBe(10_000);
    expect(p99.failureLimit).toBe(1);
    expect(() =>
      resolveCheck({
        name: 'q',
        metric: 'prometheus.query',
        query: 'up',
        critical: false,
        dryRun: false,
        onNoData: 'hold',
        onError: 'hold',
      }),
    ).toThrow(/check q: the check has no condition; give max, min or relativeToSource/);
    expect(() =>
      resolveCheck({
        name: 'x',
        metric: 'router.errors',
        critical: false,
        dryRun: false,
        onNoData: 'hold',
        onError: 'hold',
      }),
    ).toThrow(/"router.errors" is not a known metric/);
  });
});
