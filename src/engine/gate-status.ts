/**
 * A run's gates as `handoff status` and `handoff explain` show them, read from the run's audit trail
 * (read-only, streamed line by line in bounded memory) and, where the trail has none, from the
 * stage-gate decisions kept in the store:
 * - every `gate-decided` record, attributed to the stage that was running when it was made (the
 *   last `stage-started` before it: traffic gates are named `shift-25` or `bake`, stage gates after
 *   their stage);
 * - the current gate: the last gate with a decision in the run's current stage, its checks brought
 *   up to date with the `check-measured` records that came after the decision (a gate announces a
 *   decision only when it changes; measurements come every interval). Each record carries the
 *   check's passes in a row and failures as its state machine (analysis/check-state.ts) counts
 *   them; nothing is counted here. Records of an earlier step (before the last step intent) are
 *   not used;
 * - the last approval wait (`approval-waiting`) and webhook call (`approval-webhook`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AUDIT_DIR, TRAIL_FILE } from '../audit/format.js';
import { readLines } from '../audit/lines.js';
import { recordedCheckSchema, type RecordedCheck } from '../analysis/check-result.js';
import { STAGE_NAMES } from '../plan/schema.js';
import type { GateDecisionRecord } from '../store/records.js';

/** A check as recorded (analysis/check-result.ts), with when these values were recorded. */
export type CheckView = RecordedCheck & { at: string };

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
  /** The last `check-measured` result (null when the last record is the decision's own summary). */
  measured: CheckView | null;
}

/** The actions read; the action is the first key of a record's canonical line. */
const WANTED = new Set([
  'stage-started',
  'step-intent',
  'approval-waiting',
  'approval-webhook',
  'gate-decided',
  'check-measured',
]);
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

export function checkView(raw: unknown, at: string): CheckView | null {
  const parsed = recordedCheckSchema.safeParse(raw);
  return parsed.success ? { ...parsed.data, at } : null;
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
        if (w.success)
          approvalWait = { stage: w.data.stage, roles: w.data.roles, timeoutMs: w.data.timeoutMs ?? null, at: time };
      } else if (action === 'approval-webhook') {
        const w = webhookCall.safeParse(details);
        if (w.success)
          webhooks.push({ ...w.data, status: w.data.status ?? null, error: w.data.error ?? null, at: time });
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
          gateChecks.set(c.check, { seq, time, measured: null });
          if (c.critical) critical.add(`${view.gate}/${c.check}`);
        }
        live.set(view.gate, gateChecks);
      } else if (action === 'check-measured') {
        // The check's state machine counted its passes and failures; the record carries them.
        const m = checkView(details, time);
        if (!m || m.gate === null) continue;
        const gateChecks = live.get(m.gate) ?? new Map<string, LiveCheck>();
        gateChecks.set(m.check, { seq, time, measured: m });
        live.set(m.gate, gateChecks);
      }
    }
  }
  let source: RunGates['source'] = total > 0 ? 'audit-trail' : 'none';
  if (total === 0 && options.stored && options.stored.length > 0) {
    source = 'store';
    total = options.stored.length;
    for (const item of options.stored.slice(-limit)) {
      const checks = (Array.isArray(item.details) ? item.details : [])
        .map((c) => checkView(c, item.decidedAt))
        .filter((c): c is CheckView => c !== null);
      const view: GateDecisionView = {
        seq: null,
        at: item.decidedAt,
        stage: item.stage,
        gate: item.stage,
        decision: item.outcome,
        reasons: item.reason ? [item.reason] : [],
        checks,
      };
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
        const view = newer?.measured && (newer.seq >= (decided.seq ?? 0) || !recorded) ? newer.measured : null;
        if (view) return [{ ...view, critical: critical.has(`${decided.gate}/${name}`) || view.critical }];
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
