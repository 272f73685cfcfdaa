/**
 * The demo's verdict from what it observed: the run's outcome, the clients' counts and latencies,
 * the ledger, the data comparison, the audit trail and the router's own counts. `ok` for a clean
 * run: through finalize, nothing failed, lost or different, and at most 5 % of the offered
 * requests not sent; with injected errors: rolled back by its gates during the shift.
 */
import fs from 'node:fs';
import type { verifyAuditTrail } from '../audit/verify.js';
import { InternalError } from '../common/errors.js';
import type { RunOutcome } from '../engine/executor.js';
import type { DemoCredentialsSummary } from './demo-credentials.js';
import type { DemoFacts } from './demo-progress.js';
import { BASELINE_STAGE, WARMUP_STAGE, type ClientLatency, type LatencySummary } from './load/client-latency.js';
import { judgeControl, judgeTargets } from './targets.js';
import type { LoadGenerator, LoadStats } from './load/generator.js';
import type { LedgerCheck } from './load/ledger.js';
import type { CpuPerRequest } from './process-cpu.js';
import type { MachineCpu } from './machine-cpu.js';
import type { Reconciliation } from './reconcile.js';
import { shadowSummary } from './shadow-summary.js';
import type { DemoSummary } from './summary.js';

/** More than this share of the offered requests not sent makes a run NOT ok. */
export const MAX_NOT_SENT_SHARE = 0.05;

export interface SummaryInput {
  outcome: RunOutcome;
  stats: LoadStats;
  load: Pick<LoadGenerator, 'latency'>;
  loadMs: number;
  ledger: LedgerCheck;
  verification: { rowsCompared: number; identical: boolean };
  audit: ReturnType<typeof verifyAuditTrail>;
  reportFile: string;
  stateDir: string;
  facts: DemoFacts;
  cpu: CpuPerRequest & { machine?: MachineCpu };
  reconciliation: Reconciliation;
  injected: boolean;
  rolledBack: boolean;
  /** The blue/green rotation during the bake, when the demo delivered credentials. */
  credentials?: DemoCredentialsSummary;
}

/** The client-observed write pause: the longest write in flight during the hold window; null when nothing was held. */
export function clientWritePause(facts: DemoFacts, load: Pick<LoadGenerator, 'latency'>): number | null {
  const { from, to } = facts.holdWindow;
  if (!facts.cutover.measured || facts.writePauseMs === null || from === null || to === null) return null;
  return load.latency.writePause(from, to);
}

/**
 * The clients' baseline: of the windows measured before the run (stages `baseline` or `baseline-N`),
 * the one with the lowest p99 that has requests in it; `window` is its number (1 for a lone
 * `baseline`), null when no window has any. Lower p99 is the stricter budget: a window with a stall
 * in it is the machine's chance, not what the service does undisturbed.
 */
export function pickBaseline(
  latency: Pick<ClientLatency, 'overall'>,
  stageNames: string[],
): { baseline: LatencySummary; window: number | null; windows: LatencySummary[]; stages: string[] } {
  const stages = stageNames
    .filter((name) => windowNumber(name) !== null)
    .sort((a, b) => (windowNumber(a) as number) - (windowNumber(b) as number));
  const windows = stages.map((name) => latency.overall(name));
  let best = -1;
  let bestP99 = Infinity;
  for (const [i, w] of windows.entries())
    if (w.count > 0 && w.p99Ms !== null && w.p99Ms < bestP99) {
      best = i;
      bestP99 = w.p99Ms;
    }
  const empty: LatencySummary = { count: 0, p50Ms: null, p99Ms: null, maxMs: null };
  return {
    baseline: best < 0 ? empty : (windows[best] as LatencySummary),
    window: best < 0 ? null : windowNumber(stages[best] as string),
    windows,
    stages,
  };
}

const BASELINE_WINDOW = new RegExp(`^${BASELINE_STAGE}-(\\d+)$`);

/** A baseline window's number: 1 for a lone `baseline`, N for `baseline-N`; null for any other stage. */
function windowNumber(stage: string): number | null {
  if (stage === BASELINE_STAGE) return 1;
  const n = BASELINE_WINDOW.exec(stage)?.[1];
  return n === undefined ? null : Number(n);
}

export function summarize(input: SummaryInput): DemoSummary {
  const { outcome, stats, ledger, facts } = input;
  const reportExists = fs.existsSync(input.reportFile);
  const firstTarget5xx = stats.first5xxBySite.target;
  const detectionMs =
    input.rolledBack && firstTarget5xx !== undefined && facts.readsBackOnSourceAt !== null
      ? Math.max(0, facts.readsBackOnSourceAt - firstTarget5xx)
      : null;
  const intact =
    ledger.lost.length === 0 &&
    ledger.duplicated.length === 0 &&
    ledger.unexpected.length === 0 &&
    ledger.changed.length === 0 &&
    ledger.bank.preserved;
  const common = intact && ledger.readYourWritesViolations === 0 && input.audit.valid && reportExists;
  const sentEnough = stats.notSent <= MAX_NOT_SENT_SHARE * stats.offered;
  let ok: boolean;
  if (input.injected) {
    // Rolled back by its gates during the shift, nothing lost, the source intact.
    ok =
      common &&
      input.rolledBack &&
      facts.rollbackStage === 'shift' &&
      (facts.rollbackReason ?? '').startsWith('gate ') &&
      detectionMs !== null;
  } else {
    ok =
      common &&
      outcome.run.state === 'succeeded' &&
      stats.failed === 0 &&
      sentEnough &&
      input.verification.identical &&
      facts.cutover.measured;
  }
  if (!outcome.run.id) throw new InternalError('the run has no id');
  const stages = input.load.latency.stages();
  const picked = pickBaseline(input.load.latency, Object.keys(stages));
  const baseline = picked.baseline;
  const warmup = input.load.latency.overall(WARMUP_STAGE);
  for (const window of picked.stages) delete stages[window];
  delete stages[WARMUP_STAGE];
  // The control's windows (--control) are not stages of the run: judged apart, by the same budget.
  const control = judgeControl(stages, baseline.p99Ms);
  for (const window of control?.windows ?? []) delete stages[window.stage];
  const durations: DemoSummary['stages'] = {};
  for (const [stage, t] of Object.entries(facts.stages))
    durations[stage] = { durationMs: t.endedAt === null ? null : t.endedAt - t.startedAt };
  const writePauseMs = clientWritePause(facts, input.load);
  return {
    ok,
    targets: judgeTargets({ stats, baseline, stages, durations, writePauseMs, held: facts.cutover.held }),
    runId: outcome.run.id,
    stateDir: input.stateDir,
    report: input.reportFile,
    requests: {
      offered: stats.offered,
      total: stats.total,
      failed: stats.failed,
      notSent: stats.notSent,
      perSecond: Math.round((stats.total / Math.max(1, input.loadMs)) * 10_000) / 10,
      clientStops: { ...stats.stops },
    },
    latency: {
      warmup: { count: warmup.count, p50Ms: warmup.p50Ms, p99Ms: warmup.p99Ms },
      baseline: { p50Ms: baseline.p50Ms, p99Ms: baseline.p99Ms, window: picked.window, windows: picked.windows },
      stages,
    },
    writes: { acknowledged: ledger.acknowledged, lost: ledger.lost.length, duplicated: ledger.duplicated.length },
    readYourWritesViolations: ledger.readYourWritesViolations,
    invariants: { bankTotalPreserved: ledger.bank.preserved },
    cutover: {
      writePauseMs,
      routerPauseMs: facts.writePauseMs,
      held: facts.cutover.held,
      failed: facts.cutover.failed,
    },
    stages: durations,
    throttle: facts.throttle,
    cpu: input.cpu,
    reconciliation: input.reconciliation,
    verification: input.verification,
    audit: { records: input.audit.records, valid: input.audit.valid },
    rollback: {
      happened: input.rolledBack,
      stage: input.rolledBack ? facts.rollbackStage : null,
      reason: input.rolledBack ? (facts.rollbackReason ?? outcome.run.reason) : null,
      detectionMs,
    },
    ...(facts.shadow === null ? {} : { shadow: shadowSummary(facts.shadow) }),
    ...(input.credentials ? { credentials: input.credentials } : {}),
    ...(control ? { control } : {}),
  };
}
