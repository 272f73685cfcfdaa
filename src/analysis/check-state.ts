/**
 * The state machine of one check within one step: pure functions from (config, state, evaluation,
 * time) to the next state. The verdict is what the check asks of its gate:
 * - `waiting`: nothing decided yet (initial delay, passes still accumulating, a Fail within the limit);
 * - `ready`: the last `consecutiveSuccesses` measurements passed;
 * - `holding`: the check cannot tell (Inconclusive, NoData, Error); the step must not move;
 * - `escalated`: it has not been able to tell for `escalateAfter`; a human should look;
 * - `failed`: Fails exceeded `failureLimit` (a critical check: the first Fail). Sticky for the step.
 * NoData and Error hold unless the plan says `onNoData: fail|pass` / `onError: fail`; they never
 * count as a Fail by default.
 */
import type { CheckConfig } from './check-config.js';
import type { Evaluation } from './check-evaluate.js';
import type { CheckOutcome } from './outcome.js';

export const CHECK_VERDICTS = ['waiting', 'ready', 'holding', 'escalated', 'failed'] as const;
export type CheckVerdict = (typeof CHECK_VERDICTS)[number];

export interface CheckState {
  startedAt: number;
  lastMeasuredAt: number | null;
  measurements: number;
  consecutivePasses: number;
  /** Fails counted in this step (cumulative, as in Argo Rollouts; NoData/Error only when configured to). */
  failures: number;
  /** Since when the check has been unable to tell (Inconclusive, NoData, Error in a row); null otherwise. */
  holdingSince: number | null;
  verdict: CheckVerdict;
  /** Why the verdict, in words. */
  reason: string;
  last: Evaluation | null;
  /** How the last outcome counted: as measured, or mapped by onNoData/onError. */
  lastCountedAs: 'pass' | 'fail' | 'hold' | null;
}

export function initialCheckState(config: CheckConfig, now: number): CheckState {
  return {
    startedAt: now,
    lastMeasuredAt: null,
    measurements: 0,
    consecutivePasses: 0,
    failures: 0,
    holdingSince: null,
    verdict: 'waiting',
    reason: config.initialDelayMs > 0 ? `initial delay of ${config.initialDelayMs} ms` : 'not measured yet',
    last: null,
    lastCountedAs: null,
  };
}

/** When the check should next be measured. */
export function nextDueAt(config: CheckConfig, state: CheckState): number {
  if (state.lastMeasuredAt === null) return state.startedAt + config.initialDelayMs;
  return state.lastMeasuredAt + config.intervalMs;
}

export function isDue(config: CheckConfig, state: CheckState, now: number): boolean {
  return state.verdict !== 'failed' && now >= nextDueAt(config, state);
}

/** How an outcome counts, after the plan's onNoData / onError policy. */
export function countAs(config: CheckConfig, outcome: CheckOutcome): 'pass' | 'fail' | 'hold' {
  switch (outcome) {
    case 'Pass':
      return 'pass';
    case 'Fail':
      return 'fail';
    case 'NoData':
      return config.onNoData;
    case 'Error':
      return config.onError;
    case 'Inconclusive':
      return 'hold';
  }
}

export function applyEvaluation(
  config: CheckConfig,
  state: CheckState,
  evaluation: Evaluation,
  now: number,
): CheckState {
  const counted = countAs(config, evaluation.outcome);
  const next: CheckState = {
    ...state,
    lastMeasuredAt: now,
    measurements: state.measurements + 1,
    last: evaluation,
    lastCountedAs: counted,
  };
  if (counted === 'pass') {
    next.consecutivePasses = state.consecutivePasses + 1;
    next.holdingSince = null;
  } else if (counted === 'fail') {
    next.consecutivePasses = 0;
    next.failures = state.failures + 1;
    next.holdingSince = null;
  } else {
    next.consecutivePasses = 0;
    next.holdingSince = state.holdingSince ?? now;
  }
  return withVerdict(config, next, now);
}

/** Re-derives the verdict at `now` (escalation depends on time, not only on measurements). */
export function withVerdict(config: CheckConfig, state: CheckState, now: number): CheckState {
  const mapped =
    state.last && state.lastCountedAs && state.lastCountedAs !== outcomeCount(state.last.outcome)
      ? ` (${state.last.outcome} counted as ${state.lastCountedAs} by the check's policy)`
      : '';
  const lastReason = state.last ? `${state.last.outcome}: ${state.last.reason}${mapped}` : '';
  if (state.verdict === 'failed') return state;
  if (state.failures > config.failureLimit) {
    const why = config.critical
      ? `critical check breached: ${lastReason}`
      : `${state.failures} failed measurements exceed failureLimit ${config.failureLimit}; last ${lastReason}`;
    return { ...state, verdict: 'failed', reason: why };
  }
  if (state.measurements === 0) return { ...state, verdict: 'waiting' };
  if (state.lastCountedAs === 'pass' && state.consecutivePasses >= config.consecutiveSuccesses) {
    return {
      ...state,
      verdict: 'ready',
      reason: `${state.consecutivePasses} consecutive passes (need ${config.consecutiveSuccesses}); last ${lastReason}`,
    };
  }
  if (state.holdingSince !== null) {
    const held = now - state.holdingSince;
    if (held >= config.escalateAfterMs) {
      return {
        ...state,
        verdict: 'escalated',
        reason: `unable to judge for ${Math.round(held / 1000)} s (escalateAfter ${Math.round(config.escalateAfterMs / 1000)} s); last ${lastReason}`,
      };
    }
    return { ...state, verdict: 'holding', reason: lastReason };
  }
  if (state.lastCountedAs === 'fail') {
    return {
      ...state,
      verdict: 'waiting',
      reason: `${state.failures} of ${config.failureLimit + 1} failed measurements that fail the check; last ${lastReason}`,
    };
  }
  return {
    ...state,
    verdict: 'waiting',
    reason: `${state.consecutivePasses} of ${config.consecutiveSuccesses} consecutive passes; last ${lastReason}`,
  };
}

function outcomeCount(outcome: CheckOutcome): 'pass' | 'fail' | 'hold' {
  return outcome === 'Pass' ? 'pass' : outcome === 'Fail' ? 'fail' : 'hold';
}
