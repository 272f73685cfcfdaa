/**
 * What the demo learns from the run's event stream: progress lines for the terminal (stage, step,
 * weights, lag, rows verified; every event on a TTY, only stages and outcomes otherwise), and the
 * facts its summary needs (write pause, rows verified, when reads went back to the source).
 */
import type { EventBus, HandoffEvent } from '../common/events.js';
import type {
  CutoverMeasuredEvent,
  ReplicationLagEvent,
  TrafficWeightsEvent,
  VerificationResultEvent,
} from '../report/events.js';
import '../report/events.js';

export interface DemoFacts {
  writePauseMs: number | null;
  verification: { rowsCompared: number; identical: boolean } | null;
  /** Wall clock (epoch ms) of the first weights change that put every read back on the source after the target had some. */
  readsBackOnSourceAt: number | null;
  /** The gate decision that caused a rollback, in words. */
  rollbackReason: string | null;
  rollbackStage: string | null;
  lastLagMs: number | null;
}

export interface DemoProgress {
  readonly facts: DemoFacts;
  observe(events: EventBus): void;
  /** A line of the demo's own (not from the run). */
  note(text: string): void;
}

const pct = (weights: Record<string, number>): string => `${Math.round((weights.target ?? 0) * 1000) / 10} %`;

export function createDemoProgress(write: (text: string) => void, verbose: boolean): DemoProgress {
  const facts: DemoFacts = {
    writePauseMs: null,
    verification: null,
    readsBackOnSourceAt: null,
    rollbackReason: null,
    rollbackStage: null,
    lastLagMs: null,
  };
  const started = Date.now();
  let targetHadReads = false;
  const line = (text: string): void => write(`[demo ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}\n`);

  const onEvent = (event: HandoffEvent): void => {
    switch (event.type) {
      case 'stage-started':
        line(`stage ${String((event.data as { stage: string }).stage)}`);
        break;
      case 'stage-skipped':
        if (verbose) line(`stage ${(event.data as { stage: string }).stage} skipped`);
        break;
      case 'step-intent':
        if (verbose) line(`  step ${(event.data as { step: string }).step}`);
        break;
      case 'traffic-weights': {
        const data = event.data as TrafficWeightsEvent;
        if ((data.reads.target ?? 0) > 0) targetHadReads = true;
        if (targetHadReads && (data.reads.target ?? 0) === 0 && (data.reads.source ?? 0) === 1 && facts.readsBackOnSourceAt === null) {
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
        line(`  verified ${data.rowsCompared} rows of ${data.database}: ${data.identical ? 'identical' : 'DIFFERENT'} (${data.elapsedMs} ms)`);
        break;
      }
      case 'cutover-measured': {
        const data = event.data as CutoverMeasuredEvent;
        facts.writePauseMs = data.writePauseMs;
        line(`  cutover: writes paused ${data.writePauseMs} ms, ${data.heldRequests} requests held, ${data.failedRequests} failed`);
        break;
      }
      case 'gate-decided': {
        const data = event.data as { gate: string; outcome: string; reason: string };
        if (data.outcome === 'rollback' || data.outcome === 'escalate' || (verbose && data.outcome === 'advance')) line(`  gate ${data.gate}: ${data.outcome} (${data.reason})`);
        if (data.outcome === 'rollback' && facts.rollbackReason === null) facts.rollbackReason = `gate ${data.gate}: ${data.reason}`;
        break;
      }
      case 'rollback-started': {
        const data = event.data as { stage: string; reason: string };
        facts.rollbackStage ??= data.stage;
        facts.rollbackReason ??= data.reason;
        line(`rolling back from stage ${data.stage}: ${data.reason}`);
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
