/**
 * Watching a run from its state directory, the way `handoff status --watch` and `handoff run` on a
 * terminal do: the audit trail is followed for new events (live-state.ts folds them), the run's
 * status (engine/status.ts) is read again at most once a second or when a stage, step, gate or
 * approval event arrives, and the screen is redrawn at most `refreshMs` apart. It works for a run
 * driven by this process or by another one on the same state directory. Every wait is bounded.
 */
import { inspectRun, type RunDetail } from '../engine/status.js';
import type { EngineEnv } from '../engine/run-session.js';
import type { ApprovalWaitView } from '../engine/gate-status.js';
import { createLiveState, foldEvent, type LiveEvent } from './live-state.js';
import { buildLiveView, STOPPED_STATES } from './live-view.js';
import { plainLine } from './plain-lines.js';
import type { LiveScreen } from './screen.js';
import { createTrailFollower } from './trail-follower.js';
import { viewLines } from './view-lines.js';

export interface WatchOutput {
  /** The live block (a terminal), or null for plain lines. */
  screen: LiveScreen | null;
  /** Where plain lines go (stderr through the redactor). */
  line: (text: string) => void;
  columns: () => number;
  color: boolean;
}

export interface WatchOptions {
  env: EngineEnv;
  /** The run to watch; a function while the run does not exist yet (it is asked again each tick). */
  runId: string | (() => string | null);
  output: WatchOutput;
  /** Stop when the run stops moving (succeeded, rolled back, aborted, failed, paused). */
  untilStopped: boolean;
  /** Frames at most this often (default 250 ms: 4 a second). */
  refreshMs?: number;
  /** Status read again at least this often (default 1 s). */
  statusEveryMs?: number;
  /** Bound on the whole watch; null for none (the caller's signal still ends it). */
  timeoutMs?: number | null;
  signal?: AbortSignal;
}

export interface WatchResult {
  status: RunDetail | null;
  /** The bound was reached before the run stopped. */
  timedOut: boolean;
}

/** The status is read again no sooner than this many times the last read's cost after it. */
const STATUS_COST_FACTOR = 5;
/** Events after which the status is read again at once. */
const STATUS_EVENTS = /^(run-|stage-|step-done|step-failed|gate-decided|approval-|rollback-|control-)/;

export async function watchRun(options: WatchOptions): Promise<WatchResult> {
  const refreshMs = options.refreshMs ?? 250;
  const statusEveryMs = options.statusEveryMs ?? 1000;
  const started = Date.now();
  const follower = createTrailFollower(options.env.stateDir);
  const live = createLiveState();
  const out = options.output;
  let status: RunDetail | null = null;
  let approvalWait: ApprovalWaitView | null = null;
  let statusAt = 0;
  let runId: string | null = null;
  let first = true;
  let said = '';
  /** Plain output: the run's summary line, unless it is the one said last. */
  const summary = (detail: RunDetail): void => {
    const text = summaryLine(detail);
    if (text !== said) out.line(`${text}\n`);
    said = text;
  };

  let statusCostMs = 0;
  const readStatus = (id: string): void => {
    statusAt = Date.now();
    try {
      const inspected = inspectRun(options.env, id);
      status = inspected.detail;
      approvalWait = inspected.approvalWait;
      statusCostMs = Date.now() - statusAt;
    } catch (error) {
      // A run not there yet, or the store busy for a moment: the next read tries again.
      if (status === null && typeof options.runId === 'string' && first) throw error;
    }
  };
  const frame = (): void => {
    if (!status || !out.screen) return;
    const view = buildLiveView({ status, approvalWait, live, now: Date.now() });
    out.screen.draw(viewLines(view, { width: out.columns(), color: out.color }));
  };

  for (;;) {
    runId ??= typeof options.runId === 'string' ? options.runId : options.runId();
    if (runId !== null) {
      const events: LiveEvent[] = follower.read(runId);
      let statusNeeded = first || Date.now() - statusAt >= statusEveryMs;
      for (const event of events) {
        foldEvent(live, event);
        if (STATUS_EVENTS.test(event.type)) statusNeeded = true;
        if (!out.screen && !first) {
          const text = plainLine(event, live);
          if (text !== null) out.line(`${text}\n`);
        }
      }
      // Reading the status reads the trail: never more than a fifth of the time (a long trail).
      if (statusNeeded && (first || Date.now() - statusAt >= STATUS_COST_FACTOR * statusCostMs)) readStatus(runId);
      const current = status as RunDetail | null;
      if (first && current && !out.screen) summary(current);
      first = false;
      frame();
      if (options.untilStopped && current && STOPPED_STATES.includes(current.state)) return finish(false);
    }
    if (options.signal?.aborted) return finish(false);
    if (options.timeoutMs != null && Date.now() - started >= options.timeoutMs) return finish(true);
    await sleep(refreshMs, options.signal);
  }

  /** What was written before the end (the last events), the status as it is now, the last frame. */
  function finish(timedOut: boolean): WatchResult {
    if (runId === null) return { status, timedOut };
    for (const event of follower.read(runId)) {
      foldEvent(live, event);
      const text = out.screen ? null : plainLine(event, live);
      if (text !== null) out.line(`${text}\n`);
    }
    readStatus(runId);
    frame();
    const final = status as RunDetail | null;
    if (!out.screen && final) summary(final);
    return { status: final, timedOut };
  }
}

export function summaryLine(status: RunDetail): string {
  return `run ${status.id} (${status.plan}): ${status.state}${status.stage ? ` at stage ${status.stage}` : ''}${status.reason ? ` (${status.reason})` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
