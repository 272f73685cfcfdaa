/**
 * Combines the verdicts of a gate's checks into one decision: pure, no I/O.
 * - `rollback`: a check that acts (not dryRun) has failed;
 * - `escalate`: a check has been unable to judge for its escalateAfter bound (page a human: the
 *   engine pauses the run with the weights as they are, nothing undone);
 * - `advance`: the bake time is over and every acting check is ready;
 * - `hold`: anything else, with the reasons why.
 * Dry-run checks are measured, recorded and listed, but never change the decision.
 */
import type { CheckConfig } from './check-config.js';
import { checkResult, type CheckResult } from './check-result.js';
import type { CheckState } from './check-state.js';

export const GATE_DECISIONS = ['advance', 'hold', 'rollback', 'escalate'] as const;
export type GateDecisionKind = (typeof GATE_DECISIONS)[number];

export interface GateDecision {
  gate: string;
  decision: GateDecisionKind;
  /** Why, one sentence per contributing check or condition; the first is the main one. */
  reasons: string[];
  /** Every check, as its state machine has it (check-result.ts). */
  checks: CheckResult[];
  /** Milliseconds since the epoch. */
  at: number;
  bake: { requiredMs: number; elapsedMs: number };
}

export interface GateInput {
  gate: string;
  checks: Array<{ config: CheckConfig; state: CheckState }>;
  bakeMs: number;
  startedAt: number;
  now: number;
}

export function decideGate(input: GateInput): GateDecision {
  const checks = input.checks.map(({ config, state }) => checkResult(input.gate, config, state));
  const acting = checks.filter((c) => !c.dryRun);
  const elapsedMs = Math.max(0, input.now - input.startedAt);
  const base = { gate: input.gate, checks, at: input.now, bake: { requiredMs: input.bakeMs, elapsedMs } };
  const dryRunNotes = checks
    .filter((c) => c.dryRun && (c.verdict === 'failed' || c.verdict === 'escalated'))
    .map(
      (c) =>
        `dry run: check ${c.check} would have ${c.verdict === 'failed' ? 'rolled back' : 'escalated'} (${c.reason})`,
    );

  const failed = acting.filter((c) => c.verdict === 'failed');
  if (failed.length > 0) {
    return {
      ...base,
      decision: 'rollback',
      reasons: [...failed.map((c) => `check ${c.check} failed: ${c.reason}`), ...dryRunNotes],
    };
  }
  const escalated = acting.filter((c) => c.verdict === 'escalated');
  if (escalated.length > 0) {
    return {
      ...base,
      decision: 'escalate',
      reasons: [...escalated.map((c) => `check ${c.check} cannot judge: ${c.reason}`), ...dryRunNotes],
    };
  }
  const notReady = acting.filter((c) => c.verdict !== 'ready');
  const bakeLeft = input.bakeMs - elapsedMs;
  if (notReady.length === 0 && bakeLeft <= 0) {
    const why = acting.length === 0 ? 'no checks to wait for' : `all ${acting.length} checks passed`;
    return {
      ...base,
      decision: 'advance',
      reasons: [`bake of ${seconds(input.bakeMs)} done and ${why}`, ...dryRunNotes],
    };
  }
  const reasons: string[] = [];
  for (const c of notReady) reasons.push(`check ${c.check} ${c.verdict}: ${c.reason}`);
  if (bakeLeft > 0) reasons.push(`bake: ${seconds(elapsedMs)} of ${seconds(input.bakeMs)}`);
  return { ...base, decision: 'hold', reasons: [...reasons, ...dryRunNotes] };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
