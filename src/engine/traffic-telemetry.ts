/**
 * The router's statistics for the whole run, not only inside gate windows: every interval (1 s at
 * least) from the moment an execution's event stream opens (before the first step) until the run
 * ends or pauses, one `traffic-sample` event (subject `run`) with each site's and class's requests,
 * errors and windowed p50/p99 since the previous sample, and the stage the window belongs to. A
 * window is also closed at every stage start, so a stage's samples are its own. Windows never
 * overlap, so the report, `handoff status` and `handoff explain` can add them up.
 *
 * Only a plan whose router has the `statistics` capability is sampled. Sampling never fails the
 * run: a snapshot that fails or times out is skipped and counted (the next window covers the gap).
 */
import type { RouterClassStats, RouterStatsInput } from '../analysis/providers/router-stats.js';
import { InternalError } from '../common/errors.js';
import type { EventBus, HandoffEvent } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { ClassSample, TrafficSampleEvent } from '../report/events.js';
import '../report/events.js';
import { capabilitiesOf } from '../traffic/capabilities.js';
import { latencyWindow } from '../traffic/latency-window.js';
import type { Runtime } from './runtime.js';
import type { ResolvedSecrets, StepContext } from './step.js';
import './events.js';

export const RUN_SAMPLE_SUBJECT = 'run';
export const MIN_INTERVAL_MS = 1000;

export interface TelemetryCounts {
  samples: number;
  /** Snapshots that failed or timed out (skipped; the next window covers their time). */
  failed: number;
}

export interface TrafficTelemetry {
  /** Samples into this event stream until it reports the run finished or paused. */
  attach(events: EventBus): void;
  /** Stops sampling (the last partial window is emitted first while attached). Idempotent. */
  stop(): Promise<void>;
  counts(): TelemetryCounts;
}

function classSample(a: RouterClassStats, b: RouterClassStats | undefined): ClassSample {
  // A router that restarted counts from zero again: the window is then its new counts alone.
  const base = b !== undefined && a.requests < b.requests ? undefined : b;
  const requests = a.requests - (base?.requests ?? 0);
  const errors = Math.max(0, a.errors - (base?.errors ?? 0));
  const window = latencyWindow(base?.latencyBuckets, a.latencyBuckets ?? []);
  // The router counts a request when it starts and its error when it ends: in a window where held
  // or slow requests end, errors can outnumber the requests started. The rate is of the requests
  // that ended in the window (the latency histogram counts each once, failed ones too).
  const ended = window.count;
  return {
    requests,
    errors,
    errorRate: ended > 0 ? Math.min(1, errors / ended) : requests === 0 ? null : Math.min(1, errors / requests),
    p50Ms: window.p50Ms,
    p99Ms: window.p99Ms,
  };
}

/** The window between two cumulative readings of the router's statistics. Pure. */
export function sampleBetween(
  now: RouterStatsInput,
  before: RouterStatsInput | null,
  windowMs: number,
): TrafficSampleEvent {
  const sites: TrafficSampleEvent['sites'] = {};
  for (const [site, classes] of Object.entries(now.sites)) {
    const prev = before?.sites[site];
    sites[site] = { reads: classSample(classes.reads, prev?.reads), writes: classSample(classes.writes, prev?.writes) };
  }
  return { sites, windowMs };
}

export interface TrafficTelemetryOptions {
  /** Default and minimum 1000 ms. */
  intervalMs?: number;
  /** How long one snapshot may take before it counts as failed. Default: the interval. */
  timeoutMs?: number;
}

export interface TrafficTelemetryDeps {
  /** The router's cumulative statistics. */
  stats: (signal: AbortSignal) => Promise<RouterStatsInput>;
  logger?: Logger;
}

export function createTrafficTelemetry(options: TrafficTelemetryOptions, deps: TrafficTelemetryDeps): TrafficTelemetry {
  const intervalMs = Math.max(MIN_INTERVAL_MS, options.intervalMs ?? MIN_INTERVAL_MS);
  const timeoutMs = options.timeoutMs ?? intervalMs;
  let bus: EventBus | null = null;
  let unsubscribe: (() => void) | null = null;
  let stage: string | undefined;
  let previous: { at: number; stats: RouterStatsInput; stage: string | undefined } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  /** A window boundary (a stage start, the run's end) came while a snapshot was in flight. */
  let again = false;
  const counts: TelemetryCounts = { samples: 0, failed: 0 };

  const poll = async (): Promise<void> => {
    const target = bus;
    const stageNow = stage;
    let current: RouterStatsInput;
    try {
      current = await deps.stats(AbortSignal.timeout(timeoutMs));
    } catch {
      counts.failed++;
      return; // a missed poll widens the next window; nothing is lost
    }
    const at = Date.now();
    if (previous !== null && target !== null && target === bus) {
      const sample: TrafficSampleEvent = sampleBetween(current, previous.stats, at - previous.at);
      if (previous.stage !== undefined) sample.stage = previous.stage;
      target.emit('traffic-sample', sample, { actor: 'router', subject: RUN_SAMPLE_SUBJECT });
      counts.samples++;
    }
    // A window that began before the first stage started belongs to that first stage.
    previous = { at, stats: current, stage: stageNow ?? stage };
  };
  /** One snapshot at a time; a boundary during one is taken right after it. */
  const tick = (boundary = false): Promise<void> => {
    if (polling !== null) {
      if (boundary) again = true;
      return polling;
    }
    // `again` is read and `polling` cleared in the same microtask: a boundary cannot fall between them.
    polling = (async () => {
      try {
        do {
          again = false;
          await poll();
        } while (again);
      } finally {
        polling = null;
      }
    })();
    return polling;
  };
  const detach = (): void => {
    unsubscribe?.();
    unsubscribe = null;
    bus = null;
  };
  const stopTimer = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  return {
    attach(events) {
      detach();
      bus = events;
      unsubscribe = events.on((event: HandoffEvent) => {
        if (event.type === 'stage-started') {
          stage = (event.data as { stage: string }).stage;
          if (previous !== null && previous.stage === undefined) previous.stage = stage;
          void tick(true);
        } else if (event.type === 'run-finished' || event.type === 'run-paused') {
          // The run ends or pauses: one last window into this stream, then stop writing to it.
          stopTimer();
          void tick(true).then(detach);
        }
      });
      if (previous === null) void tick();
      timer ??= setInterval(() => void tick(), intervalMs);
      timer.unref();
    },
    async stop() {
      stopTimer();
      if (bus !== null) await tick(true);
      await polling;
      detach();
      if (counts.failed > 0)
        deps.logger?.warn(`traffic telemetry: ${counts.failed} router snapshots failed and were skipped`, {
          ...counts,
        });
    },
    counts: () => ({ ...counts }),
  };
}

export interface RunTelemetryInput {
  runId: string;
  plan: Migration;
  events: EventBus;
  logger: Logger;
  redactor: Redactor;
  secrets: ResolvedSecrets;
  runtime: Runtime;
  intervalMs?: number;
}

/**
 * Starts whole-run sampling for one execution when the plan's router can report statistics
 * (`statistics` capability); null otherwise. The router is reached as the steps reach it,
 * through `runtime.router`, with a context of its own (stage `preflight`, no durable state).
 */
export function startRunTelemetry(input: RunTelemetryInput): TrafficTelemetry | null {
  if (capabilitiesOf(input.plan.spec)?.statistics !== true) return null;
  const abort = new AbortController();
  const stage: StageName = 'preflight';
  const ctx: StepContext = {
    runId: input.runId,
    stage,
    key: `${input.runId}/telemetry`,
    epoch: 0,
    plan: input.plan,
    events: input.events,
    logger: input.logger.child({ run: input.runId, component: 'telemetry' }),
    redactor: input.redactor,
    secrets: input.secrets,
    signal: abort.signal,
    state: {
      get: () => undefined,
      set: () => {
        throw new InternalError('the traffic telemetry keeps no durable state');
      },
    },
  };
  const telemetry = createTrafficTelemetry(
    { ...(input.intervalMs !== undefined ? { intervalMs: input.intervalMs } : {}) },
    {
      stats: async (signal) => {
        const router = await input.runtime.router(ctx);
        const snapshot = await Promise.race([
          router.snapshot(),
          new Promise<never>((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
          ),
        ]);
        return snapshot.stats;
      },
      logger: ctx.logger,
    },
  );
  telemetry.attach(input.events);
  return {
    ...telemetry,
    async stop() {
      await telemetry.stop();
      abort.abort();
    },
  };
}
