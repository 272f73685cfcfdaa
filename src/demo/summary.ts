import type { LatencySummary, StageLatency } from './load/client-latency.js';
import type { DemoCredentialsSummary } from './demo-credentials.js';
import type { Reconciliation } from './reconcile.js';
import type { MachineCpu } from './machine-cpu.js';
import { formatShadowLine, type DemoShadowSummary } from './shadow-summary.js';
import type { ControlSummary, Targets } from './targets.js';

/** The summary `handoff demo -o json` prints (issues 6 and 11), the same fields in the human output. */
export interface DemoSummary {
  /** Clean run: through finalize with nothing failed, lost or different. With injected errors: rolled back by its gates during the shift, nothing lost. */
  ok: boolean;
  runId: string;
  /** The state directory the demo ran in (`--state-dir`: engine state, audit trail, logs, report). */
  stateDir: string;
  report: string;
  /**
   * `offered`: due at the rate asked for; `total`: sent; `notSent`: offered but not sent (too many
   * in flight); `perSecond`: sent per second over the load's whole life; `clientStops`: the clients'
   * own stops (the machine or their thread not running for more than 200 ms; `LoadStats.stops`),
   * with the requests not sent in the burst after them.
   */
  requests: {
    offered: number;
    total: number;
    failed: number;
    notSent: number;
    perSecond: number;
    clientStops: { count: number; totalMs: number; longestMs: number; notSent: number };
  };
  /**
   * The scale targets (issue 11) judged from these figures: at least 95 % sent, no failure, a
   * client write pause under 500 ms, every stage's p99 within the latency budget, the stages under
   * 3 minutes together. Separate from `ok`, which says the run was correct; `met` says it was also kind.
   */
  targets: Targets;
  /**
   * What the clients felt: the warm-up (the demo's processes starting cold; in no stage), the
   * baseline window before the run, then per stage and class (fixed-memory histograms).
   */
  latency: {
    warmup: { count: number; p50Ms: number | null; p99Ms: number | null };
    /**
     * The quietest of the windows measured before the run (the lowest p99): `window` is its number,
     * `windows` all of them in order (a window with a stall in it would widen every budget by chance).
     */
    baseline: {
      p50Ms: number | null;
      p99Ms: number | null;
      window: number | null;
      windows: LatencySummary[];
    };
    stages: Record<string, StageLatency>;
  };
  writes: { acknowledged: number; lost: number; duplicated: number };
  readYourWritesViolations: number;
  invariants: { bankTotalPreserved: boolean };
  /**
   * `writePauseMs`: measured at the clients, the longest write in flight during the cutover hold;
   * `routerPauseMs`: the router's own figure (first held request to release). Both null when
   * nothing was held or no cutover happened.
   */
  cutover: { writePauseMs: number | null; routerPauseMs: number | null; held: number; failed: number };
  /** How long each stage took, from its start to its end. */
  stages: Record<string, { durationMs: number | null }>;
  /** Background work paused by the throttle (throttle-paused / throttle-resumed events). */
  throttle: { pauses: number; pausedMs: number };
  /**
   * CPU milliseconds per request sent, per process, and the share of a core each used, over the load;
   * `machine`: the whole machine's busy and stolen cores per stage (warm-up, baseline, the run's
   * stages while the load ran), where /proc/stat can be read.
   */
  cpu: { perRequestMs: Record<string, number>; cores: Record<string, number>; machine?: MachineCpu };
  /** What the clients counted against what the router counted, and why they differ. */
  reconciliation: Reconciliation;
  verification: { rowsCompared: number; identical: boolean };
  audit: { records: number; valid: boolean };
  rollback: { happened: boolean; stage: string | null; reason: string | null; detectionMs: number | null };
  /** The shadow stage (`--shadow`), when it ran. */
  shadow?: DemoShadowSummary;
  /** The blue/green credentials rotation during the bake (demo_app_blue to demo_app_green). */
  credentials?: DemoCredentialsSummary;
  /**
   * The control (`--control`): the load's windows with nothing migrating, before the baseline,
   * judged by the run's latency budget (not stages of the run; not in `targets`).
   */
  control?: ControlSummary;
}

/** The summary in words, for the terminal. */
export function formatSummary(s: DemoSummary): string {
  const lines = [
    `demo ${s.ok ? 'ok' : 'NOT ok'}: run ${s.runId}`,
    `  requests      ${s.requests.offered} offered, ${s.requests.total} sent (${s.requests.perSecond} per second), ${s.requests.notSent} not sent, ${s.requests.failed} failed`,
    ...(s.requests.clientStops.count > 0
      ? [
          `  clients       stopped ${s.requests.clientStops.count === 1 ? 'once' : `${s.requests.clientStops.count} times`} (longest ${ms(s.requests.clientStops.longestMs)}, ${ms(s.requests.clientStops.totalMs)} in all): the machine or the load's thread did not run; ${s.requests.clientStops.notSent} of the requests not sent came due meanwhile`,
        ]
      : []),
    `  warm-up       ${s.latency.warmup.count} requests, client p50 ${ms(s.latency.warmup.p50Ms)}, p99 ${ms(s.latency.warmup.p99Ms)} (cold processes; in no stage)`,
    `  baseline      client p50 ${ms(s.latency.baseline.p50Ms)}, p99 ${ms(s.latency.baseline.p99Ms)}${quieterOf(s.latency.baseline)}; budget per stage p99 ${ms(s.targets.latencyBudgetMs)}`,
    ...Object.entries(s.latency.stages).map(
      ([stage, l]) =>
        `  ${stage.padEnd(13)} ${ms(s.stages[stage]?.durationMs ?? null)}; reads p50 ${ms(l.reads.p50Ms)} p99 ${ms(l.reads.p99Ms)} max ${ms(l.reads.maxMs)}; writes p50 ${ms(l.writes.p50Ms)} p99 ${ms(l.writes.p99Ms)} max ${ms(l.writes.maxMs)}${l.notSent > 0 ? `; ${l.notSent} not sent` : ''}${l.clientStopMs > 0 ? `; the clients stopped ${ms(l.clientStopMs)}` : ''}`,
    ),
    `  writes        ${s.writes.acknowledged} acknowledged, ${s.writes.lost} lost, ${s.writes.duplicated} duplicated`,
    `  read-your-writes violations ${s.readYourWritesViolations}; bank total ${s.invariants.bankTotalPreserved ? 'preserved' : 'CHANGED'}`,
    `  cutover       ${cutoverLine(s.cutover)}`,
    `  throttle      ${s.throttle.pauses} pauses, ${ms(s.throttle.pausedMs)} paused`,
    `  router        ${s.reconciliation.router.requests} requests, ${s.reconciliation.router.errors} errors; ${s.reconciliation.notes.join('; ')}`,
    `  cpu/request   ${Object.entries(s.cpu.perRequestMs)
      .map(([name, v]) => `${name} ${v} ms`)
      .join(', ')}`,
    ...(s.cpu.machine ? [machineLine(s.cpu.machine)] : []),
    `  verification  ${s.verification.rowsCompared} rows compared, ${s.verification.identical ? 'identical' : 'NOT identical'}`,
    `  audit trail   ${s.audit.records} records, ${s.audit.valid ? 'valid' : 'INVALID'}`,
    `  targets       ${s.targets.met ? 'met' : `missed: ${s.targets.missed.join('; ')}`}`,
  ];
  if (s.control !== undefined) lines.push(controlLine(s.control));
  if (s.shadow !== undefined) lines.push(formatShadowLine(s.shadow));
  if (s.credentials !== undefined) lines.push(credentialsLine(s.credentials));
  if (s.rollback.happened) {
    lines.push(`  rollback      in stage ${s.rollback.stage ?? '?'}: ${s.rollback.reason ?? ''}`);
    lines.push(
      `                detected ${s.rollback.detectionMs === null ? '(not measured)' : `${s.rollback.detectionMs} ms`} after the target's first 5xx`,
    );
  }
  lines.push(`  report        ${s.report}`, `  state         ${s.stateDir}`);
  return `${lines.join('\n')}\n`;
}

function controlLine(c: ControlSummary): string {
  const n = c.windows.length;
  const over = c.windows
    .filter((w) => w.overBudget)
    .map((w) => `${w.stage} reads p99 ${ms(w.reads.p99Ms)}, writes p99 ${ms(w.writes.p99Ms)}`);
  const verdict =
    c.latencyBudgetMs === null
      ? 'not judged (no baseline)'
      : `${c.overBudget} over the budget of ${ms(c.latencyBudgetMs)}${over.length > 0 ? ` (${over.join('; ')})` : ''}`;
  return `  control       ${n} ${n === 1 ? 'window' : 'windows'} of the load with nothing migrating: ${verdict}`;
}

function machineLine(m: MachineCpu): string {
  const pct = (share: number) => `${Math.round(share * 100)} %`;
  const stages = Object.entries(m.stages)
    .map(([stage, c]) => {
      const notes = [
        ...(c.stealCores > 0 ? [`${c.stealCores} stolen`] : []),
        ...(c.cpuWaitShare !== undefined ? [`waiting for CPU ${pct(c.cpuWaitShare)}`] : []),
        ...(c.ioWaitShare !== undefined ? [`for I/O ${pct(c.ioWaitShare)}`] : []),
      ];
      return `${stage} ${c.busyCores}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
    })
    .join(', ');
  return `  machine       busy cores of ${m.cores} per stage: ${stages}`;
}

function ms(value: number | null): string {
  return value === null ? '–' : `${Math.round(value * 10) / 10} ms`;
}

function cutoverLine(c: DemoSummary['cutover']): string {
  if (c.writePauseMs === null && c.routerPauseMs === null) return `nothing held (${c.held} held, ${c.failed} failed)`;
  return `writes paused ${ms(c.writePauseMs)} at the clients (${ms(c.routerPauseMs)} at the router), ${c.held} held, ${c.failed} failed`;
}

function credentialsLine(c: DemoCredentialsSummary): string {
  const sessions =
    c.targetSessions === null
      ? 'not measured'
      : Object.entries(c.targetSessions)
          .map(([role, n]) => `${role} ${n}`)
          .join(', ') || 'none';
  const login = c.canLogin === null ? 'not measured' : c.canLogin.join(', ') || 'none';
  return `  credentials   ${c.rotated} rotation${c.rotated === 1 ? '' : 's'}, ${c.live} live, retired ${c.retired.join(', ') || 'none'}; the target's service sessions at the bake's end: ${sessions}; can log in: ${login}`;
}

/** Which window the baseline is, when there were several: " (the quieter of 2 windows: p99 10 ms and 164 ms)". */
export function quieterOf(b: DemoSummary['latency']['baseline']): string {
  if (b.windows.length < 2) return '';
  const p99s = b.windows.map((w) => ms(w.p99Ms));
  return ` (the quieter of ${b.windows.length} windows: p99 ${p99s.slice(0, -1).join(', ')} and ${p99s.at(-1) ?? ''})`;
}
