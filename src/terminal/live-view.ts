/**
 * The terminal view of a run as data, from what `handoff status` computes (engine/status.ts) and
 * what the event stream said lately (live-state.ts). Pure: the same input gives the same view.
 * view-lines.ts turns it into lines for a given width.
 */
import type { ApprovalWaitView } from '../engine/gate-status.js';
import type { RunDetail } from '../engine/status.js';
import type { LiveState, TableProgress } from './live-state.js';
import { progressFigures, type ProgressFigures } from './progress.js';

export type StageMark = 'done' | 'current' | 'failed' | 'skipped' | 'undone' | 'pending';

export interface ProgressBar {
  /** `verify`, `copy`. */
  kind: string;
  label: string;
  figures: ProgressFigures;
  /** What `done` and `total` count. */
  unit: string;
  /** Rows per second, where the unit is not rows. */
  rowsPerSecond: number | null;
  /** `re-check 2`, `3/5 tables`, ... */
  note: string | null;
}

export interface LiveView {
  runId: string;
  plan: string;
  state: string;
  stage: string | null;
  elapsedMs: number;
  pipeline: Array<{ name: string; mark: StageMark }>;
  step: { name: string; elapsedMs: number; attempts: number } | null;
  bars: ProgressBar[];
  weights: string | null;
  lag: string[];
  throttle: string[];
  gate: string | null;
  approvals: string[];
  notes: string[];
  /** The run stopped moving: succeeded, rolled back, aborted, failed or paused. */
  stopped: boolean;
  /** No executor holds the run's lease while it says it is running. */
  noExecutor: boolean;
}

export interface LiveInput {
  status: RunDetail;
  approvalWait: ApprovalWaitView | null;
  live: LiveState;
  /** ms since the epoch. */
  now: number;
}

/** States in which a run does not move by itself. */
export const STOPPED_STATES: readonly string[] = ['succeeded', 'rolled-back', 'aborted', 'failed', 'paused'];
/** Progress bars shown at most (unfinished first, then the newest). */
export const MAX_BARS = 8;

export function buildLiveView(input: LiveInput): LiveView {
  const { status, live, now } = input;
  const stopped = STOPPED_STATES.includes(status.state);
  const end = status.finished && stopped ? Date.parse(status.finished) : now;
  const current = status.stages.find((s) => s.name === status.stage);
  const running = current?.steps.find((s) => s.state === 'intent');
  const stageStart = current?.started ? Date.parse(current.started) : 0;
  return {
    runId: status.id,
    plan: status.plan,
    state: status.state,
    stage: status.stage,
    elapsedMs: Math.max(0, end - Date.parse(status.started)),
    pipeline: status.stages.map((s) => ({ name: s.name, mark: markOf(s.state, s.name === status.stage, stopped) })),
    step:
      running && !stopped
        ? {
            name: running.name,
            elapsedMs: running.intentAt ? Math.max(0, now - Date.parse(running.intentAt)) : 0,
            attempts: running.attempts,
          }
        : null,
    bars: bars(live, stageStart),
    weights: weightsText(live),
    lag: [...live.lag].map(([database, l]) => `${database} ${formatMs(l.lagMs)}`),
    throttle: [...live.throttle].map(([work, t]) => `${work} paused ${formatMs(now - t.since)}: ${t.message}`),
    gate: gateText(status),
    approvals: approvalLines(input),
    notes: [
      ...(status.reason ? [status.reason] : []),
      ...(status.error && status.error !== status.reason ? [`error: ${status.error}`] : []),
    ],
    stopped,
    noExecutor: status.state === 'running' && !status.lease?.live,
  };
}

function markOf(state: string, isCurrent: boolean, stopped: boolean): StageMark {
  if (state === 'done') return 'done';
  if (state === 'failed') return 'failed';
  if (state === 'skipped' || state === 'will be skipped') return 'skipped';
  if (state === 'undone') return 'undone';
  if (state === 'running' || (isCurrent && !stopped)) return 'current';
  return 'pending';
}

function bars(live: LiveState, stageStart: number): ProgressBar[] {
  const out: Array<ProgressBar & { order: number }> = [];
  for (const copy of live.copy.values()) {
    if (copy.ready && copy.updatedAt < stageStart) continue;
    const samples = [{ at: copy.updatedAt, done: copy.tablesDone }];
    const moving = copy.tables.filter((t) => !t.finished);
    const rates = moving.map((t) => progressFigures(t.samples, null, false).ratePerSecond ?? 0);
    const rows = copy.tables.reduce((sum, t) => sum + t.rows, 0);
    out.push({
      kind: 'copy',
      label: copy.database,
      figures: progressFigures(samples, copy.tablesTotal, copy.ready),
      unit: 'tables',
      rowsPerSecond: moving.length > 0 ? rates.reduce((a, b) => a + b, 0) : null,
      note: moving.length > 0 ? `copying ${moving.map((t) => t.table).join(', ')}; ${rows} rows so far` : null,
      order: copy.ready ? copy.updatedAt : Number.MAX_SAFE_INTEGER,
    });
  }
  for (const table of live.verify.values()) {
    if (table.finished && table.updatedAt < stageStart) continue;
    out.push(verifyBar(table));
  }
  return out
    .sort((a, b) => b.order - a.order)
    .slice(0, MAX_BARS)
    .map(({ order: _order, ...bar }) => bar);
}

function verifyBar(table: TableProgress): ProgressBar & { order: number } {
  const rate = progressFigures(table.rowSamples, null, false).ratePerSecond;
  return {
    kind: 'verify',
    label: table.database ? `${table.database} ${table.table}` : table.table,
    figures: progressFigures(table.samples, table.total, table.finished),
    unit: 'chunks',
    rowsPerSecond: table.finished ? null : rate,
    note: table.pass > 1 ? `re-check ${table.pass - 1}` : null,
    order: table.finished ? table.updatedAt : Number.MAX_SAFE_INTEGER,
  };
}

function weightsText(live: LiveState): string | null {
  if (!live.weights) return null;
  const side = (w: Record<string, number>): string =>
    Object.entries(w)
      .filter(([, v]) => v > 0)
      .map(([site, v]) => `${site} ${formatPercent(v)}`)
      .join(' ');
  return `reads ${side(live.weights.reads) || 'none'} · writes ${side(live.weights.writes) || 'none'}`;
}

function gateText(status: RunDetail): string | null {
  const decision = status.lastDecisions[status.lastDecisions.length - 1];
  if (!decision) return null;
  const gate = status.currentGate && status.currentGate.gate === decision.gate ? status.currentGate : decision;
  const check = gate.checks.find((c) => c.outcome !== 'Pass') ?? gate.checks[0];
  const value =
    check && check.value !== null
      ? ` · ${check.check} ${formatNumber(check.value)}${limitText(check.threshold)} ${check.outcome ?? ''}`.trimEnd()
      : '';
  const reason = decision.reasons[0] ? `: ${decision.reasons[0]}` : '';
  return `${decision.gate} ${decision.decision}${reason}${value}`;
}

function limitText(t: { max?: number; min?: number; fail?: number } | null): string {
  if (!t) return '';
  if (t.max !== undefined) return ` (max ${formatNumber(t.max)})`;
  if (t.min !== undefined) return ` (min ${formatNumber(t.min)})`;
  if (t.fail !== undefined) return ` (fail at ${formatNumber(t.fail)}×)`;
  return '';
}

function approvalLines({ status, approvalWait }: LiveInput): string[] {
  if (!approvalWait || (status.state !== 'running' && status.state !== 'paused')) return [];
  const stage = status.stages.find((s) => s.name === approvalWait.stage);
  if (!stage || stage.state === 'done' || stage.state === 'skipped') return [];
  return stage.approvals
    .filter((a) => a.approvedBy === null)
    .map(
      (a) =>
        `${stage.name} needs role ${a.role}: handoff approve ${status.id} --stage ${stage.name} --role ${a.role} --as NAME`,
    );
}

export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  return `${Number.isInteger(p) ? p : p < 1 ? p.toFixed(1) : Math.round(p)} %`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Math.abs(value) < 1 ? value.toPrecision(2) : value.toFixed(1);
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
