/**
 * A run's gates as `handoff status` and `handoff explain` show them, read from the run's audit trail
 * (read-only, streamed line by line in bounded memory) and, where the trail has none, from the
 * stage-gate decisions kept in the store:
 * - every `gate-decided` record, attributed to the stage that was running when it was made (the
 *   last `stage-started` before it: traffic gates are named `shift-25` or `bake`, stage gates after
 *   their stage);
 * - the current gate: the last gate with a decision in the run's current stage, its checks brought
 *   up to date with the `check-measured` records that came after the decision (a gate announces a
 *   decision only when it changes; measurements come every interval). Passes and failures in a row
 *   are counted from those records as the check's state machine counts them, and start again with
 *   each new step (a new gate);
 * - the last approval wait (`approval-waiting`) and webhook call (`approval-webhook`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AUDIT_DIR, TRAIL_FILE } from '../audit/format.js';
import { readLines } from '../audit/lines.js';
import { STAGE_NAMES } from '../plan/schema.js';
import type { GateDecisionRecord } from '../store/records.js';

export interface CheckView {
  check: string;
  metric: string | null;
  /** Pass, Fail, Inconclusive, Error, NoData; null when not measured yet. */
  outcome: string | null;
  /** What the check asks of its gate: waiting, ready, holding, escalated, failed. */
  verdict: string | null;
  value: number | null;
  sourceValue: number | null;
  ratio: number | null;
  samples: number | null;
  sourceSamples: number | null;
  pValue?: number;
  threshold: Record<string, unknown> | null;
  /** Fails counted in the step, and passes in a row; null when the records do not say. */
  failures: number | null;
  consecutivePasses: number | null;
  dryRun: boolean;
  critical: boolean;
  reason: string;
  /** When these values were recorded. */
  at: string;
}

export interface GateDecisionView {
  /** The audit record's sequence number (null for a decision read from the store). */
  seq: number | null;
  at: string;
  stage: string | null;
  gate: string;
  /** advance, hold, rollback, escalate (analysis gates) or Pass, Fail, ... (stage gates). */
  decision: string;
  reasons: string[];
  checks: CheckView[];
}

export interface ApprovalWaitView {
  stage: string;
  roles: string[];
  timeoutMs: number | null;
  at: string;
}

export interface WebhookCallView {
  stage: string;
  role: string;
  url: string;
  delivered: boolean;
  status: number | null;
  error: string | null;
  at: string;
}

export interface RunGates {
  /** The last gate with a decision in the run's current stage, with its latest measurements. */
  current: GateDecisionView | null;
  /** The last decisions of the run (newest last). */
  decisions: GateDecisionView[];
  /** How many gate decisions the run has in all. */
  total: number;
  approvalWait: ApprovalWaitView | null;
  webhooks: WebhookCallView[];
  /** Where the decisions were read from. */
  source: 'audit-trail' | 'store' | 'none';
}

interface LiveCheck {
  seq: number;
  time: string;
  /** The last `check-measured` details (null when the last record is the decision's own summary). */
  details: Record<string, unknown> | null;
  passes: number;
  failures: number;
}

/** The actions read; the action is the first key of a record's canonical line. */
const WANTED = new Set(['stage-started', 'step-intent', 'approval-waiting', 'approval-webhook', 'gate-decided', 'check-measured']);
const ACTION_PREFIX = '{"action":"';

function actionOf(text: string): string | null {
  if (!text.startsWith(ACTION_PREFIX)) return null;
  const end = text.indexOf('"', ACTION_PREFIX.length);
  return end < 0 ? null : text.slice(ACTION_PREFIX.length, end);
}

/** The fields of an audit record used here (the trail's own verification checks the rest). */
const envelope = z.object({
  seq: z.number(),
  time: z.string(),
  runId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
const measured = z.object({ gate: z.string(), check: z.string(), outcome: z.string().optional(), countedAs: z.string().optional() });

const num = z.number().nullable().optional().catch(null);
const looseCheck = z.looseObject({
  check: z.string().optional().catch(undefined),
  name: z.string().optional().catch(undefined),
  metric: z.string().optional().catch(undefined),
  outcome: z.string().nullable().optional().catch(null),
  verdict: z.string().optional().catch(undefined),
  value: num,
  sourceValue: num,
  ratio: num,
  samples: num,
  sourceSamples: num,
  pValue: z.number().optional().catch(undefined),
  threshold: z.unknown().optional(),
  failures: z.number().optional().catch(undefined),
  consecutivePasses: z.number().optional().catch(undefined),
  countedAs: z.string().optional().catch(undefined),
  dryRun: z.boolean().optional().catch(undefined),
  critical: z.boolean().optional().catch(undefined),
  reason: z.string().optional().catch(undefined),
  gate: z.string().optional().catch(undefined),
});
type LooseCheck = z.infer<typeof looseCheck>;

const gateDecided = z.object({
  gate: z.string(),
  outcome: z.string(),
  reason: z.string().optional(),
  reasons: z.array(z.string()).optional(),
  checks: z.array(z.unknown()).optional(),
});
const stageStarted = z.object({ stage: z.string() });
const approvalWaiting = z.object({ stage: z.string(), roles: z.array(z.string()), timeoutMs: z.number().optional() });
const webhookCall = z.object({
  stage: z.string(),
  role: z.string(),
  url: z.string(),
  delivered: z.boolean(),
  status: z.number().nullable().optional(),
  error: z.string().nullable().optional(),
});

function thresholdOf(value: unknown): Record<string, unknown> | null {
  if (typeof value === 'number') return { max: value };
  if (value && typeof value === 'object' && !Array.isArray(value)) return { ...(value as Record<string, unknown>) };
  return null;
}

export function checkView(raw: unknown, at: string): CheckView | null {
  const parsed = looseCheck.safeParse(raw);
  if (!parsed.success) return null;
  const c: LooseCheck = parsed.data;
  const name = c.check ?? c.name;
  if (!name) return null;
  return {
    check: name,
    metric: c.metric ?? null,
    outcome: c.outcome ?? null,
    verdict: c.verdict ?? null,
    value: c.value ?? null,
    sourceValue: c.sourceValue ?? null,
    ratio: c.ratio ?? null,
    samples: c.samples ?? null,
    sourceSamples: c.sourceSamples ?? null,
    ...(c.pValue !== undefined ? { pValue: c.pValue } : {}),
    threshold: thresholdOf(c.threshold),
    failures: c.failures ?? null,
    consecutivePasses: c.consecutivePasses ?? null,
    dryRun: c.dryRun ?? false,
    critical: c.critical ?? false,
    reason: c.reason ?? '',
    at,
  };
}

export interface ReadGatesOptions {
  stateDir: string;
  runId: string;
  /** The run's current stage. */
  stage: string | null;
  /** The store's stage-gate decisions: used when the trail has no gate decision of the run. */
  stored?: GateDecisionRecord[];
  /** How many of the last decisions to return (default 10). */
  limit?: number;
}

/** Reads the gates of one run. Changes nothing; a missing or partly written trail is read as far as it goes. */
export function readRunGates(options: ReadGatesOptions): RunGates {
  const limit = Math.max(1, options.limit ?? 10);
  const decisions: GateDecisionView[] = [];
  let total = 0;
  let runningStage: string | null = null;
  let lastInStage: GateDecisionView | null = null;
  let approvalWait: ApprovalWaitView | null = null;
  const webhooks: WebhookCallView[] = [];
  /** Each check of each gate since its step began: gate → check → latest record and counters. */
  let live = new Map<string, Map<string, LiveCheck>>();
  /** `gate/check` of checks a decision named critical (measurements do not say). */
  const critical = new Set<string>();
  const file = path.join(options.stateDir, AUDIT_DIR, TRAIL_FILE);
  const runKey = `"runId":${JSON.stringify(options.runId)}`;
  if (fs.existsSync(file)) {
    for (const line of readLines(file)) {
      // Cheap filters first: the trail holds every run's records, most of them of no interest here.
      if (!line.terminated || !line.text.includes(runKey)) continue;
      const action = actionOf(line.text);
      if (action === null || !WANTED.has(action)) continue;
      let record;
      try {
        const parsed = envelope.safeParse(JSON.parse(line.text));
        if (!parsed.success || parsed.data.runId !== options.runId) continue;
        record = parsed.data;
      } catch {
        continue; // a damaged line: `handoff audit verify` names it
      }
      const { details, time, seq } = record;
      if (action === 'stage-started') {
        const s = stageStarted.safeParse(details);
        if (s.success) runningStage = s.data.stage;
      } else if (action === 'step-intent') {
        live = new Map(); // a new step: its gate starts with fresh counters
      } else if (action === 'approval-waiting') {
        const w = approvalWaiting.safeParse(details);
        if (w.success) approvalWait = { stage: w.data.stage, roles: w.data.roles, timeoutMs: w.data.timeoutMs ?? null, at: time };
      } else if (action === 'approval-webhook') {
        const w = webhookCall.safeParse(details);
        if (w.success) webhooks.push({ ...w.data, status: w.data.status ?? null, error: w.data.error ?? null, at: time });
      } else if (action === 'gate-decided') {
        const g = gateDecided.safeParse(details);
        if (!g.success) continue;
        const checks = (g.data.checks ?? []).map((c) => checkView(c, time)).filter((c): c is CheckView => c !== null);
        const view: GateDecisionView = {
          seq,
          at: time,
          stage: isStageName(g.data.gate) ? g.data.gate : runningStage,
          gate: g.data.gate,
          decision: g.data.outcome,
          reasons: g.data.reasons ?? (g.data.reason ? [g.data.reason] : []),
          checks,
        };
        total++;
        decisions.push(view);
        if (decisions.length > limit) decisions.shift();
        if (view.stage !== null && view.stage === options.stage) lastInStage = view;
        const gateChecks = live.get(view.gate) ?? new Map<string, LiveCheck>();
        for (const c of checks) {
          gateChecks.set(c.check, { seq, time, details: null, passes: c.consecutivePasses ?? 0, failures: c.failures ?? 0 });
          if (c.critical) critical.add(`${view.gate}/${c.check}`);
        }
        live.set(view.gate, gateChecks);
      } else if (action === 'check-measured') {
        // Only counted here; the details of the last one per check are read at the end.
        const m = measured.safeParse(details);
        if (!m.success) continue;
        const gateChecks = live.get(m.data.gate) ?? new Map<string, LiveCheck>();
        const before = gateChecks.get(m.data.check);
        const counted = m.data.countedAs ?? (m.data.outcome === 'Pass' ? 'pass' : m.data.outcome === 'Fail' ? 'fail' : 'hold');
        gateChecks.set(m.data.check, {
          seq,
          time,
          details,
          passes: counted === 'pass' ? (before?.passes ?? 0) + 1 : 0,
          failures: (before?.failures ?? 0) + (counted === 'fail' ? 1 : 0),
        });
        live.set(m.data.gate, gateChecks);
      }
    }
  }
  let source: RunGates['source'] = total > 0 ? 'audit-trail' : 'none';
  if (total === 0 && options.stored && options.stored.length > 0) {
    source = 'store';
    total = options.stored.length;
    for (const item of options.stored.slice(-limit)) {
      const checks = (Array.isArray(item.details) ? item.details : []).map((c) => checkView(c, item.decidedAt)).filter((c): c is CheckView => c !== null);
      const view: GateDecisionView = { seq: null, at: item.decidedAt, stage: item.stage, gate: item.stage, decision: item.outcome, reasons: item.reason ? [item.reason] : [], checks };
      decisions.push(view);
      if (item.stage === options.stage) lastInStage = view;
    }
  }
  let current: GateDecisionView | null = lastInStage;
  if (current && current.seq !== null) {
    const decided = current;
    const latest = live.get(decided.gate);
    if (latest) {
      const names = [...new Set([...decided.checks.map((c) => c.check), ...latest.keys()])];
      const checks = names.flatMap((name): CheckView[] => {
        const newer = latest.get(name);
        const recorded = decided.checks.find((c) => c.check === name);
        const view = newer?.details && (newer.seq >= (decided.seq ?? 0) || !recorded) ? checkView(newer.details, newer.time) : null;
        if (newer && view) return [{ ...view, critical: critical.has(`${decided.gate}/${name}`) || view.critical, consecutivePasses: newer.passes, failures: newer.failures }];
        return recorded ? [recorded] : [];
      });
      current = { ...decided, checks };
    }
  }
  return { current, decisions, total, approvalWait, webhooks, source };
}

/** Stage gates are named after their stage (the executor's `gate-decided` for `stage.gate`). */
function isStageName(name: string): boolean {
  return (STAGE_NAMES as readonly string[]).includes(name);
}
