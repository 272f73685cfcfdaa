/**
 * Decisions in words, for `handoff explain` and the report: why a gate decided what it did, and
 * what each check measured against which threshold. Takes the recorded data (a `gate-decided` or
 * `check-measured` event, or a stored gate decision), validated, so it also reads old records.
 */
import { z } from 'zod';
import { fmt } from './check-evaluate.js';
import { recordedCheckSchema } from './check-result.js';

export const gateRecordSchema = z.object({
  gate: z.string(),
  /** `decision` in a GateDecision, `outcome` in a gate-decided event. */
  decision: z.string().optional(),
  outcome: z.string().optional(),
  reasons: z.array(z.string()).optional(),
  reason: z.string().optional(),
  /** Each read as a recorded check result (check-result.ts). */
  checks: z.array(recordedCheckSchema).default([]),
});

const verbs: Record<string, string> = {
  advance: 'to advance',
  hold: 'to hold the step',
  rollback: 'to roll back',
  escalate: 'to hold and ask a human (escalate)',
};

/** One paragraph: the decision and its reasons, then one line per check. */
export function explainGateDecision(record: unknown): string {
  const parsed = gateRecordSchema.safeParse(record);
  if (!parsed.success) return `(an unreadable gate decision record: ${parsed.error.issues[0]?.message ?? 'invalid'})`;
  const g = parsed.data;
  const decision = g.decision ?? g.outcome ?? 'unknown';
  const reasons = g.reasons ?? (g.reason ? [g.reason] : []);
  const lines = [`Gate ${g.gate} decided ${verbs[decision] ?? decision}${reasons.length > 0 ? ':' : '.'}`];
  for (const r of reasons) lines.push(`  - ${r}`);
  if (g.checks.length > 0) lines.push('  Checks:');
  for (const c of g.checks) lines.push(`    ${explainCheck(c)}`);
  return lines.join('\n');
}

/** One line: what a check measured, against what, and what it concluded. */
export function explainCheck(record: unknown): string {
  const parsed = recordedCheckSchema.safeParse(record);
  if (!parsed.success) return `(an unreadable check record: ${parsed.error.issues[0]?.message ?? 'invalid'})`;
  const c = parsed.data;
  const name = `${c.check}${c.metric ? ` (${c.metric})` : ''}${c.dryRun ? ' [dry run]' : ''}${c.critical ? ' [critical]' : ''}`;
  if (c.outcome === null)
    return `${name}: not measured yet${c.verdict ? `; ${c.verdict}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
  const facts: string[] = [];
  if (c.value !== null && c.value !== undefined) facts.push(`target ${fmt(c.value)}`);
  if (c.sourceValue !== null && c.sourceValue !== undefined) facts.push(`source ${fmt(c.sourceValue)}`);
  if (c.ratio !== null && c.ratio !== undefined) facts.push(`ratio ${fmt(c.ratio)}×`);
  if (c.pValue !== undefined) facts.push(`p=${c.pValue < 0.0001 ? c.pValue.toExponential(1) : fmt(c.pValue)}`);
  if (c.samples !== null && c.samples !== undefined)
    facts.push(`${c.samples} target samples${c.sourceSamples ? `, ${c.sourceSamples} source` : ''}`);
  const limits: string[] = [];
  const t = c.threshold;
  if (t?.max !== undefined) limits.push(`max ${fmt(t.max)}`);
  if (t?.min !== undefined) limits.push(`min ${fmt(t.min)}`);
  if (t?.warn !== undefined) limits.push(`warn at ${fmt(t.warn)}×`);
  if (t?.fail !== undefined) limits.push(`fail at ${fmt(t.fail)}×`);
  if (t?.minSamples) limits.push(`at least ${t.minSamples} samples`);
  const counts =
    c.failures !== undefined && c.failures !== null
      ? `; ${c.failures} failed so far, ${c.consecutivePasses ?? 0} passes in a row`
      : '';
  const why = c.reason ? ` ${capitalize(c.reason)}.` : '';
  return `${name}: ${c.outcome}${facts.length ? ` (${facts.join(', ')})` : ''}${limits.length ? ` against ${limits.join(', ')}` : ''}${c.verdict ? `; ${c.verdict}` : ''}${counts}.${why}`;
}

function capitalize(text: string): string {
  return text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text;
}
