/**
 * The demo's scale targets, judged from what the clients measured: the promise that a migration
 * does not hurt the service it moves. `ok` says a run was correct (nothing failed, lost or
 * different); `targets` says it was also kind to its clients:
 *
 * - at least 95 % of the offered requests sent, and none failed;
 * - the client-observed write pause under 500 ms;
 * - in every stage, the client p99 of reads and of writes at most
 *   max(2 × baseline p99, baseline p99 + 100 ms);
 * - the stages, preflight to finalize, under 3 minutes together.
 */
import { CONTROL_STAGE, type LatencySummary, type StageLatency } from './load/client-latency.js';
import type { LoadStats } from './load/generator.js';

export const TARGET_SENT_SHARE = 0.95;
export const TARGET_WRITE_PAUSE_MS = 500;
export const TARGET_STAGES_MS = 3 * 60_000;

export interface Targets {
  /** Every target below met. */
  met: boolean;
  /** One line per missed target, with the measured value. */
  missed: string[];
  sentShare: number | null;
  /** max(2 × baseline p99, baseline p99 + 100 ms); null without a baseline. */
  latencyBudgetMs: number | null;
  /** Stages whose client p99 (reads or writes) exceeded the budget, with the value. */
  overBudget: Array<{ stage: string; class: 'reads' | 'writes'; p99Ms: number }>;
  stagesMs: number;
}

export interface TargetInput {
  stats: Pick<LoadStats, 'offered' | 'total' | 'failed'>;
  baseline: Pick<LatencySummary, 'p99Ms'>;
  stages: Record<string, StageLatency>;
  durations: Record<string, { durationMs: number | null }>;
  writePauseMs: number | null;
  /** Writes the router held during the cutover's switch (they all fall in the cutover stage). */
  held?: number | null;
}

export function latencyBudget(baselineP99Ms: number | null): number | null {
  return baselineP99Ms === null ? null : Math.max(2 * baselineP99Ms, baselineP99Ms + 100);
}

export function judgeTargets(input: TargetInput): Targets {
  const missed: string[] = [];
  const { offered, total, failed } = input.stats;
  const sentShare = offered === 0 ? null : total / offered;
  if (sentShare === null || sentShare < TARGET_SENT_SHARE)
    missed.push(
      `${sentShare === null ? 'no' : (sentShare * 100).toFixed(1) + ' %'} of offered requests sent (target 95 %)`,
    );
  if (failed > 0) missed.push(`${failed} requests failed (target 0)`);
  if (input.writePauseMs !== null && input.writePauseMs >= TARGET_WRITE_PAUSE_MS)
    missed.push(`client write pause ${input.writePauseMs} ms (target under ${TARGET_WRITE_PAUSE_MS} ms)`);
  const budget = latencyBudget(input.baseline.p99Ms);
  const overBudget: Targets['overBudget'] = [];
  if (budget === null) missed.push('no baseline latency to judge the stages by');
  else
    for (const [stage, l] of Object.entries(input.stages))
      for (const cls of ['reads', 'writes'] as const) {
        const p99 = l[cls].p99Ms;
        if (p99 !== null && p99 > budget) overBudget.push({ stage, class: cls, p99Ms: p99 });
      }
  for (const o of overBudget)
    missed.push(
      `${o.stage} ${o.class} p99 ${Math.round(o.p99Ms)} ms over the budget of ${Math.round(budget ?? 0)} ms${heldShare(o, input)}${clientsStopped(o, input)}`,
    );
  const stagesMs = Object.values(input.durations).reduce((sum, d) => sum + (d.durationMs ?? 0), 0);
  if (stagesMs >= TARGET_STAGES_MS)
    missed.push(`stages took ${(stagesMs / 1000).toFixed(1)} s together (target under 180 s)`);
  return { met: missed.length === 0, missed, sentShare, latencyBudgetMs: budget, overBudget, stagesMs };
}

/** A stage in which the clients themselves were stopped: its latencies hold that stop too (still a miss). */
function clientsStopped(o: { stage: string }, input: TargetInput): string {
  const ms = input.stages[o.stage]?.clientStopMs ?? 0;
  return ms > 0 ? ` (the clients themselves were stopped ${Math.round(ms)} ms in this stage)` : '';
}

/**
 * Why a short cutover stage's write p99 is the write pause: when 1 % or more of its writes were
 * held by the switch, its p99 is one of theirs. Said beside the miss, so nobody reads it as slowness
 * of the service in general.
 */
function heldShare(o: { stage: string; class: 'reads' | 'writes' }, input: TargetInput): string {
  const held = input.held ?? 0;
  const count = input.stages[o.stage]?.writes.count ?? 0;
  if (o.stage !== 'cutover' || o.class !== 'writes' || held <= 0 || count <= 0 || held / count < 0.01) return '';
  const share = Math.round((Math.min(held, count) / count) * 100);
  return ` (${held} of the stage's ${count} writes, ${share} %, were held by the switch: its p99 is the clients' write pause)`;
}

/** One window of the control: the load with nothing migrating. */
export interface ControlWindow {
  stage: string;
  reads: LatencySummary;
  writes: LatencySummary;
  notSent: number;
  /** Its client p99 of reads or of writes above the run's latency budget. */
  overBudget: boolean;
}

/**
 * The control (`handoff demo --control`): windows of the same load before the baseline with
 * nothing migrating, judged by the budget the run's stages are judged by. What the machine does to
 * the service by itself: a window over the budget is a miss no migration caused, and a run on that
 * machine can miss its stage budgets for the same reason.
 */
export interface ControlSummary {
  windows: ControlWindow[];
  /** How many windows had a client p99 over the budget. */
  overBudget: number;
  /** The run's budget (see `latencyBudget`); null without a baseline (then no window is judged over). */
  latencyBudgetMs: number | null;
}

const CONTROL_WINDOW = new RegExp(`^${CONTROL_STAGE}-(\\d+)$`);

/** The control's windows among `stages` (`control-N`, in order of N), judged; null when there are none. */
export function judgeControl(
  stages: Record<string, StageLatency>,
  baselineP99Ms: number | null,
): ControlSummary | null {
  const budget = latencyBudget(baselineP99Ms);
  const named = Object.keys(stages)
    .map((stage) => ({ stage, n: Number(CONTROL_WINDOW.exec(stage)?.[1] ?? Number.NaN) }))
    .filter((w) => Number.isInteger(w.n))
    .sort((a, b) => a.n - b.n);
  if (named.length === 0) return null;
  const windows = named.map(({ stage }): ControlWindow => {
    const l = stages[stage] as StageLatency;
    const over = (p99: number | null) => budget !== null && p99 !== null && p99 > budget;
    return {
      stage,
      reads: l.reads,
      writes: l.writes,
      notSent: l.notSent,
      overBudget: over(l.reads.p99Ms) || over(l.writes.p99Ms),
    };
  });
  return { windows, overBudget: windows.filter((w) => w.overBudget).length, latencyBudgetMs: budget };
}
