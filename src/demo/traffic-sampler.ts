/**
 * The router's statistics for the whole run, not only inside gate windows: every interval (1 s)
 * from the moment the run's event stream opens (before preflight's first step) until the run ends
 * or pauses, one `traffic-sample` event (subject `run`) with each site's and class's requests,
 * errors and windowed p50/p99 since the previous sample. Windows never overlap, so the report can
 * add them up; it prefers these samples over the gate windows' own when a run has them.
 */
import type { RouterClassStats, RouterStatsInput, RouterStatsSource } from '../analysis/providers/router-stats.js';
import type { EventBus, HandoffEvent } from '../common/events.js';
import type { ClassSample, TrafficSampleEvent } from '../report/events.js';
import '../report/events.js';
import { latencyWindow } from '../traffic/latency-window.js';

export const RUN_SAMPLE_SUBJECT = 'run';

export interface TrafficSampler {
  /** Samples into this run's event stream until it reports the run finished or paused. */
  attach(events: EventBus): void;
  /** Stops sampling (the last partial window is emitted first while attached). */
  stop(): Promise<void>;
}

function classSample(a: RouterClassStats, b: RouterClassStats | undefined): ClassSample {
  // A router that restarted counts from zero again: the window is then its new counts alone.
  const base = b !== undefined && a.requests < b.requests ? undefined : b;
  const requests = a.requests - (base?.requests ?? 0);
  const errors = Math.max(0, a.errors - (base?.errors ?? 0));
  const window = latencyWindow(base?.latencyBuckets, a.latencyBuckets ?? []);
  return { requests, errors, errorRate: requests === 0 ? null : errors / requests, p50Ms: window.p50Ms, p99Ms: window.p99Ms };
}

export function sampleBetween(now: RouterStatsInput, before: RouterStatsInput | null, windowMs: number): TrafficSampleEvent {
  const sites: TrafficSampleEvent['sites'] = {};
  for (const [site, classes] of Object.entries(now.sites)) {
    const prev = before?.sites[site];
    sites[site] = { reads: classSample(classes.reads, prev?.reads), writes: classSample(classes.writes, prev?.writes) };
  }
  return { sites, windowMs };
}

export function createTrafficSampler(stats: RouterStatsSource, options: { intervalMs?: number } = {}): TrafficSampler {
  const intervalMs = options.intervalMs ?? 1000;
  let bus: EventBus | null = null;
  let unsubscribe: (() => void) | null = null;
  let previous: { at: number; stats: RouterStatsInput } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;

  const poll = async (): Promise<void> => {
    const target = bus;
    let current: RouterStatsInput;
    try {
      current = await stats(AbortSignal.timeout(Math.max(500, intervalMs)));
    } catch {
      return; // a missed poll widens the next window; nothing is lost
    }
    const at = Date.now();
    if (previous !== null && target !== null && target === bus) {
      target.emit('traffic-sample', sampleBetween(current, previous.stats, at - previous.at), { actor: 'router', subject: RUN_SAMPLE_SUBJECT });
    }
    previous = { at, stats: current };
  };
  const tick = (): void => {
    if (polling !== null) return; // the router is slow to answer: skip, the next window covers it
    polling = poll().finally(() => {
      polling = null;
    });
  };
  const detach = (): void => {
    unsubscribe?.();
    unsubscribe = null;
    bus = null;
  };

  return {
    attach(events) {
      detach();
      bus = events;
      unsubscribe = events.on((event: HandoffEvent) => {
        // The run ends or pauses: one last window into this stream, then stop writing to it.
        if (event.type === 'run-finished' || event.type === 'run-paused') void poll().then(detach);
      });
      if (previous === null) tick();
      timer ??= setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await polling;
      detach();
    },
  };
}
