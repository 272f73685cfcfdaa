/**
 * What the demo learns from the run's event stream: progress lines for the terminal (stage, step,
 * weights, lag, rows verified; every event on a TTY, only stages and outcomes otherwise), and the
 * facts its summary needs (stage times, the hold window, the router's write pause, throttle pauses,
 * rows verified, when reads went back to the source).
 */
import type { EventBus, HandoffEvent } from '../common/events.js';
import type {
  CutoverMeasuredEvent,
  ReplicationLagEvent,
  TrafficWeightsEvent,
  VerificationResultEvent,
} from '../report/events.js';
import '../report/events.js';
import type { ShadowVerdict } from '../shadow/events.js';

export interface StageTiming {
  startedAt: number;
  /** When it finished, failed, was skipped or undone; null while it runs. */
  endedAt: number | null;
}

export interface DemoFacts {
  /** The router's own figure: from the first held request's arrival to the release; null when nothing was held. */
  writePauseMs: number | null;
  /** The cutover stage's record: whether it ran, requests held and failed during it. */
  cutover: { measured: boolean; held: number; failed: number };
  /**
   * The cutover's hold as the engine saw it: from the intent of its hold step to the intent of its
   * release step (epoch ms); null ends when not seen. A write in flight in it was held, or drained
   * into the hold; one sent after the release was asked for was not held (its wait, if the target
   * is slow to take the released writes, is in the cutover stage's latency, not in the pause).
   */
  holdWindow: { from: number | null; to: number | null };
  /** Each stage's start and end (epoch ms), in the order they began. */
  stages: Record<string, StageTiming>;
  /** Background work paused by the throttle: how often and for how long. */
  throttle: { pauses: number; pausedMs: number };
  verification: { rowsCompared: number; identical: boolean } | null;
  /** Wall clock (epoch ms) of the first weights change that put every read back on the source after the target had some. */
  readsBackOnSourceAt: number | null;
  /** The gate decision that caused a rollback, in words. */
  rollbackReason: string | null;
  rollbackStage: string | null;
  lastLagMs: number | null;
  /** The shadow stage's verdict, when it ran. */
  shadow: ShadowVerdict | null;
}

export interface DemoProgress {
  readonly facts: DemoFacts;
  observe(events: EventBus): void;
  /** A line of the demo's own (not from the run). */
  note(text: string): void;
}

const pct = (weights: Record<string, number>): string => `${Math.round((weights.target ?? 0) * 1000) / 10} %`;

/** `onStage` is told each stage as it starts (the load counts its requests in that stage from then on). */
export function createDemoProgress(
  write: (text: string) => void,
  verbose: boolean,
  onStage: (stage: string) => void = () => undefined,
): DemoProgress {
  const facts: DemoFacts = {
    writePauseMs: null,
    cutover: { measured: false, held: 0, failed: 0 },
    holdWindow: { from: null, to: null },
    stages: {},
    throttle: { pauses: 0, pausedMs: 0 },
    verification: null,
    readsBackOnSourceAt: null,
    rollbackReason: null,
    rollbackStage: null,
    lastLagMs: null,
    shadow: null,
  };
  const started = Date.now();
  let targetHadReads = false;
  const line = (text: string): void =>
    write(`[demo ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}\n`);

  const ended = (stage: string, at: number): void => {
    const timing = facts.stages[stage];
    if (timing && timing.endedAt === null) timing.endedAt = at;
  };

  const onEvent = (event: HandoffEvent): void => {
    const at = Date.parse(event.time);
    switch (event.type) {
      case 'stage-started': {
        const stage = String((event.data as { stage: string }).stage);
        // A stage started again (resumed after bake) keeps its first start.
        facts.stages[stage] ??= { startedAt: at, endedAt: null };
        facts.stages[stage].endedAt = null;
        onStage(stage);
        line(`stage ${stage}`);
        break;
      }
      case 'stage-done':
      case 'stage-failed':
      case 'stage-undone':
        ended((event.data as { stage: string }).stage, at);
        break;
      case 'stage-skipped':
        if (verbose) line(`stage ${(event.data as { stage: string }).stage} skipped`);
        break;
      case 'step-intent': {
        const data = event.data as { stage: string; step: string };
        if (data.stage === 'cutover' && data.step === 'hold-requests' && facts.holdWindow.from === null)
          facts.holdWindow.from = at;
        if (data.stage === 'cutover' && data.step === 'release-requests' && facts.holdWindow.to === null)
          facts.holdWindow.to = at;
        if (verbose) line(`  step ${data.step}`);
        break;
      }
      case 'throttle-paused': {
        facts.throttle.pauses += 1;
        const data = event.data as { work?: string; reason?: string; value?: number; limit?: number };
        line(
          `  throttle: ${data.work ?? 'background work'} paused (${data.reason ?? '?'}: ${data.value ?? '?'} over ${data.limit ?? '?'})`,
        );
        break;
      }
      case 'traffic-baseline': {
        const data = event.data as { p99Ms?: number | null; samples?: number; windowMs?: number };
        line(
          data.p99Ms === null || data.p99Ms === undefined
            ? `  throttle baseline: no router samples in ${data.windowMs ?? '?'} ms (each piece of work takes its own)`
            : `  throttle baseline: router p99 ${data.p99Ms} ms (median of ${data.samples ?? '?'} samples)`,
        );
        break;
      }
      case 'throttle-rebaselined': {
        const data = event.data as { work?: string; message?: string };
        line(`  throttle: ${data.work ?? 'background work'}: ${data.message ?? 'baseline changed'}`);
        break;
      }
      case 'throttle-resumed':
        facts.throttle.pausedMs += Math.max(0, Number((event.data as { pausedMs?: number }).pausedMs ?? 0));
        break;
      case 'traffic-weights': {
        const data = event.data as TrafficWeightsEvent;
        if ((data.reads.target ?? 0) > 0) targetHadReads = true;
        if (
          targetHadReads &&
          (data.reads.target ?? 0) === 0 &&
          (data.reads.source ?? 0) === 1 &&
          facts.readsBackOnSourceAt === null
        ) {
          facts.readsBackOnSourceAt = Date.parse(event.time);
        }
        line(`  weights: reads ${pct(data.reads)} / writes ${pct(data.writes)} on the target (${data.reason})`);
        break;
      }
      case 'replication-lag': {
        const data = event.data as ReplicationLagEvent;
        facts.lastLagMs = data.lagMs;
        if (verbose) line(`  replication lag ${data.lagMs} ms`);
        break;
      }
      case 'verification-result': {
        const data = event.data as VerificationResultEvent;
        facts.verification = { rowsCompared: data.rowsCompared, identical: data.identical };
        line(
          `  verified ${data.rowsCompared} rows of ${data.database}: ${data.identical ? 'identical' : 'DIFFERENT'} (${data.elapsedMs} ms)`,
        );
        break;
      }
      case 'cutover-measured': {
        const data = event.data as CutoverMeasuredEvent;
        facts.writePauseMs = data.writePauseMs;
        facts.cutover = { measured: true, held: data.heldRequests, failed: data.failedRequests };
        const pause =
          data.writePauseMs === null ? 'nothing held' : `writes paused ${data.writePauseMs} ms at the router`;
        line(`  cutover: ${pause}, ${data.heldRequests} requests held, ${data.failedRequests} failed`);
        break;
      }
      case 'gate-decided': {
        const data = event.data as { gate: string; outcome: string; reason: string };
        if (data.outcome === 'rollback' || data.outcome === 'escalate' || (verbose && data.outcome === 'advance'))
          line(`  gate ${data.gate}: ${data.outcome} (${data.reason})`);
        if (data.outcome === 'rollback' && facts.rollbackReason === null)
          facts.rollbackReason = `gate ${data.gate}: ${data.reason}`;
        break;
      }
      case 'rollback-started': {
        const data = event.data as { stage: string; reason: string };
        facts.rollbackStage ??= data.stage;
        facts.rollbackReason ??= data.reason;
        line(`rolling back from stage ${data.stage}: ${data.reason}`);
        break;
      }
      case 'shadow-verdict': {
        const data = event.data as ShadowVerdict;
        facts.shadow = data;
        line(`  shadow: ${data.outcome} (${data.reason})`);
        break;
      }
      case 'run-finished': {
        const data = event.data as { state: string; reason?: string };
        line(`run ${data.state}${data.reason ? `: ${data.reason}` : ''}`);
        break;
      }
      default:
        break;
    }
  };

  return {
    facts,
    observe: (events) => void events.on(onEvent),
    note: line,
  };
}
