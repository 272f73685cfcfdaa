/**
 * What one fault of a rehearsal did, judged from the run's trail and the clients' history (pure: no
 * I/O). Three figures per fault (issue 13, docs/rehearsal.md "Report"):
 *
 * - `reaction`: the strongest thing handoff did between the injection and the recovery (or the end of
 *   the trail when the run never recovered), in this order, strongest first:
 *     failback  writes and reads given back to the source after cutover (`traffic-weights` "failback: ...",
 *               or a `rollback-started` in bake or finalize)
 *     rollback  a stage undone or traffic moved back (`rollback-started`, `stage-undo-started`,
 *               `traffic-weights` "rollback: ...", a gate deciding `rollback`)
 *     hold      the run held (`run-paused`, a gate deciding `hold`)
 *     resume    the run taken up again (`run-resumed`, or a `lease-acquired` of epoch 2 or more: a new
 *               executor took the run up, for example after the last one was killed)
 *   A pause the run was asked for (`--until STAGE`, reason "until ...") and the `handoff resume` that
 *   follows it (its `lease-acquired` and `run-resumed`) are planned, not reactions; so is each
 *   analysis gate's first decision when it is a hold with no check failing (every gate starts so: its
 *   first poll of the router's counters is only the baseline).
 *     retry     a step retried (`step-attempt-failed` with next `retry`, a `step-intent` of attempt >= 2)
 *     throttle  background data work paused (`throttle-paused`)
 *     none      nothing of the above
 *   A failback is the most drastic (the whole cutover undone), a retry the least; a resume comes above a
 *   retry because it means the executor itself was lost.
 * - `recoveryMs`: from the injection until the later of
 *     (a) the clients' recovery: the first moment at or after the fault was cleared after which the
 *         clients saw no failed operation for `settleMs` (2 s by default), that window lying inside the
 *         history; when the history ends sooner (the load stopped, as before finalize), the clearing
 *         if no client failed since the injection, else never; and
 *     (b) the run going on: the first progress event of the run (a step's intent (not a retry's), done or undone, a
 *         stage's start, end, skip or undo, copy or verification progress, a gate's check measured
 *         passing (`check-measured` Pass: a baking step goes on), the run finishing
 *         succeeded or rolled back) at or after the fault was cleared; a run already finished
 *         (succeeded or rolled back) when the fault cleared counts as going on at the clearing.
 *   null when either never happened, or the fault was never cleared.
 *   A fault with no effect is recovered at once (`recoveryMs` 0): no reaction, no failed operation from
 *   the injection until `settleMs` after the clearing, and the run progressed while the fault was in
 *   place (so it was not stalled by it).
 * - `failedRequests`: the clients' operations that completed as `fail` (it did not happen) or `info`
 *   (unknown outcome: a time-out, a reset, a 5xx) from the injection until the recovery (until the end
 *   of the history when there was none). Both are requests a client saw fail; `failed` and `unknown`
 *   give them apart.
 */
import type { HistoryOp } from './history.js';
import type { FaultReaction } from './faults/types.js';

/** A trail event as the event bus emits it (HandoffEvent fits) or as `trailEvents` reads a stored record. */
export interface TrailEvent {
  type: string;
  /** ISO 8601. */
  time: string;
  data: unknown;
}

export interface FaultWindow {
  /** ISO 8601. */
  injectedAt: string;
  /** ISO 8601; null when the fault was never cleared. */
  clearedAt: string | null;
}

export interface FaultOutcome {
  reaction: FaultReaction;
  recoveryMs: number | null;
  /** `fail` + `info` completions from injection until recovery. */
  failedRequests: number;
  failed: number;
  unknown: number;
  /** The event that set the reaction (its type and time), when there was one. */
  evidence: { type: string; time: string } | null;
}

export interface JudgeFaultOptions {
  /** How long the clients must see no failure to count as recovered; default 2000 ms. */
  settleMs?: number;
}

/** Strongest first. */
export const REACTION_ORDER: readonly FaultReaction[] = [
  'failback',
  'rollback',
  'hold',
  'resume',
  'retry',
  'throttle',
  'none',
];

const PROGRESS = new Set([
  'step-intent',
  'step-done',
  'step-undone',
  'stage-started',
  'stage-done',
  'stage-skipped',
  'stage-undone',
  'rollback-done',
  'pg-copy-progress',
  'pg-verify-progress',
]);
const GOOD_ENDS = new Set(['succeeded', 'rolled-back']);
const AFTER_CUTOVER = new Set(['bake', 'finalize']);

function field(data: unknown, key: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
}

function text(data: unknown, key: string): string {
  const value = field(data, key);
  return typeof value === 'string' ? value : '';
}

function isProgress(event: TrailEvent): boolean {
  // A step's second attempt is a retry, not progress: a step retrying through a fault is not going on.
  if (event.type === 'step-intent') return !(Number(field(event.data, 'attempt')) >= 2);
  // A gate measuring a check passing: a step that bakes (one long step, as the bake's) is going on.
  if (event.type === 'check-measured') return text(event.data, 'outcome') === 'Pass';
  if (PROGRESS.has(event.type)) return true;
  return event.type === 'run-finished' && GOOD_ENDS.has(text(event.data, 'state'));
}

/** A pause the run was asked for (`--until STAGE`): no reaction to anything. */
const plannedPause = (event: TrailEvent): boolean =>
  event.type === 'run-paused' && text(event.data, 'reason').startsWith('until ');

/**
 * The run's taking up again after a planned pause (the `lease-acquired` and `run-resumed` of the
 * `handoff resume` that follows `--until`): a continuation, not a resume after a fault.
 */
function plannedContinuations(events: readonly TrailEvent[]): Set<TrailEvent> {
  const planned = new Set<TrailEvent>();
  let afterPlannedPause = false;
  for (const event of events) {
    if (plannedPause(event)) afterPlannedPause = true;
    else if (event.type === 'lease-acquired' || event.type === 'run-resumed') {
      if (afterPlannedPause) planned.add(event);
      if (event.type === 'run-resumed') afterPlannedPause = false;
    } else if (isProgress(event) || event.type === 'run-paused') afterPlannedPause = false;
  }
  return planned;
}

/** A check's outcome that is a finding: not Pass, not NoData. */
const FINDINGS = new Set(['Fail', 'Inconclusive', 'Error']);

/**
 * Each analysis gate's first decision when it is a hold for want of data: every gate starts so (its
 * first poll of the router's counters is the baseline), fault or not; no reaction.
 */
function baselineHolds(events: readonly TrailEvent[]): Set<TrailEvent> {
  const seen = new Set<string>();
  const baseline = new Set<TrailEvent>();
  for (const event of events) {
    if (event.type !== 'gate-decided') continue;
    const gate = text(event.data, 'gate');
    if (seen.has(gate)) continue;
    seen.add(gate);
    const checks = field(event.data, 'checks');
    const finding =
      Array.isArray(checks) && checks.some((c) => FINDINGS.has(text(c, 'outcome')) || Number(field(c, 'failures')) > 0);
    if (text(event.data, 'outcome').toLowerCase() === 'hold' && !finding) baseline.add(event);
  }
  return baseline;
}

/** The reaction one event shows, or null. `firstLease` is the run's first `lease-acquired` event. */
function reactionOf(event: TrailEvent, firstLease: TrailEvent | undefined): FaultReaction | null {
  const { type, data } = event;
  switch (type) {
    case 'traffic-weights': {
      const reason = text(data, 'reason');
      if (reason.startsWith('failback')) return 'failback';
      return reason.startsWith('rollback') ? 'rollback' : null;
    }
    case 'rollback-started':
      return AFTER_CUTOVER.has(text(data, 'stage')) ? 'failback' : 'rollback';
    case 'stage-undo-started':
      return 'rollback';
    case 'gate-decided': {
      const outcome = text(data, 'outcome').toLowerCase();
      return outcome === 'rollback' ? 'rollback' : outcome === 'hold' ? 'hold' : null;
    }
    case 'run-paused':
      return plannedPause(event) ? null : 'hold';
    case 'run-resumed':
      return 'resume';
    case 'lease-acquired': {
      // Epochs count a run's executors from 1; without one, any but the first of the trail.
      const epoch = field(data, 'epoch');
      return (typeof epoch === 'number' ? epoch > 1 : event !== firstLease) ? 'resume' : null;
    }
    case 'step-attempt-failed':
      return field(data, 'next') === 'retry' ? 'retry' : null;
    case 'step-intent': {
      const attempt = field(data, 'attempt');
      return typeof attempt === 'number' && attempt >= 2 ? 'retry' : null;
    }
    case 'throttle-paused':
      return 'throttle';
    default:
      return null;
  }
}

const rank = (reaction: FaultReaction): number => REACTION_ORDER.indexOf(reaction);

/** Completion times of the clients' failed (fail, info) operations, sorted. */
function failureTimes(history: readonly HistoryOp[]): number[] {
  return history
    .filter((op) => op.type === 'fail' || op.type === 'info')
    .map((op) => op.time)
    .sort((a, b) => a - b);
}

/**
 * The first t >= from after which no failure completes within (t, t + settleMs], that window
 * ending inside the history (or, when the history ends sooner, `from` if no client failed since the
 * injection); null when there is none.
 */
function clientsRecovered(
  failures: number[],
  injected: number,
  from: number,
  settleMs: number,
  historyEnd: number,
): number | null {
  let t = from;
  for (const f of failures) {
    if (f <= t) continue;
    if (f - t > settleMs) break;
    t = f;
  }
  if (t + settleMs <= historyEnd) return t;
  // The history ends sooner (the load was stopped): only clients the fault never hurt count as recovered.
  return failures.some((f) => f >= injected) ? null : t;
}

export function judgeFault(
  window: FaultWindow,
  events: readonly TrailEvent[],
  history: readonly HistoryOp[],
  options: JudgeFaultOptions = {},
): FaultOutcome {
  const settleMs = options.settleMs ?? 2000;
  const injected = Date.parse(window.injectedAt);
  const cleared = window.clearedAt === null ? null : Date.parse(window.clearedAt);
  const timed = events
    .map((event) => ({ event, at: Date.parse(event.time) }))
    .filter((e) => Number.isFinite(e.at))
    .sort((a, b) => a.at - b.at);
  const failures = failureTimes(history);
  const historyEnd = history.reduce((max, op) => Math.max(max, op.time), -Infinity);

  let recoveredAt: number | null = null;
  if (cleared !== null) {
    const clients = clientsRecovered(failures, injected, Math.max(cleared, injected), settleMs, historyEnd);
    const from = Math.max(cleared, injected);
    const finishedBefore = timed.some(
      (e) => e.at <= from && e.event.type === 'run-finished' && GOOD_ENDS.has(text(e.event.data, 'state')),
    );
    const progress = finishedBefore ? from : timed.find((e) => e.at >= from && isProgress(e.event))?.at;
    recoveredAt = clients === null || progress === undefined ? null : Math.max(clients, progress);
  }

  const firstLease = timed.find((e) => e.event.type === 'lease-acquired')?.event;
  const inOrder = timed.map((e) => e.event);
  const planned = new Set([...plannedContinuations(inOrder), ...baselineHolds(inOrder)]);
  const windowEnd = recoveredAt ?? Infinity;
  let reaction: FaultReaction = 'none';
  let evidence: FaultOutcome['evidence'] = null;
  for (const { event, at } of timed) {
    if (at < injected || at > windowEnd || planned.has(event)) continue;
    const found = reactionOf(event, firstLease);
    if (found && rank(found) < rank(reaction)) {
      reaction = found;
      evidence = { type: event.type, time: event.time };
    }
  }

  const countUntil = recoveredAt ?? Infinity;
  let failed = 0;
  let unknown = 0;
  for (const op of history) {
    if (op.time < injected || op.time > countUntil) continue;
    if (op.type === 'fail') failed++;
    else if (op.type === 'info') unknown++;
  }

  let recoveryMs = recoveredAt === null ? null : Math.max(0, recoveredAt - injected);
  if (recoveryMs !== null && cleared !== null && reaction === 'none') {
    const quiet = !failures.some((f) => f >= injected && f <= cleared + settleMs);
    const progressed = timed.some((e) => e.at >= injected && e.at <= cleared && isProgress(e.event));
    if (quiet && progressed) recoveryMs = 0;
  }
  return { reaction, recoveryMs, failedRequests: failed + unknown, failed, unknown, evidence };
}

/** The trail's stored records (audit/format.ts) as events for `judgeFault`. */
export function trailEvents(
  records: ReadonlyArray<{ action: string; time: string; details: Record<string, unknown> }>,
): TrailEvent[] {
  return records.map((record) => ({ type: record.action, time: record.time, data: record.details }));
}
