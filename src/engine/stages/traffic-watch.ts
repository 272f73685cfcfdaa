/**
 * Watching a traffic step: for its bake time the gate is ticked, the router's statistics are turned
 * into `traffic-sample` events, and replication lag is measured and reported to the router (reads
 * go to the target only while its lag is known and under the bound). Ends with the gate's decision:
 * advance returns; rollback throws GateFailedError (the executor undoes the run) unless the source
 * cannot take the traffic back, which holds the run instead; a gate that cannot judge holds it too.
 */
import { checkSourceHealth } from '../../analysis/source-health.js';
import type { CheckConfig } from '../../analysis/check-config.js';
import { buildGate } from '../../analysis/registry.js';
import type { RouterStatsInput } from '../../analysis/providers/router-stats.js';
import { parseDuration } from '../../common/duration.js';
import { GateFailedError, HoldRunError, messageOf } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import { check as checkSchema, type AnalysisSpec, type StageName } from '../../plan/schema.js';
import type { ClassSample } from '../../report/events.js';
import { latencyWindow } from '../../traffic/latency-window.js';
import type { RouterStats, TrafficRouter } from '../../traffic/router.js';
import type { DataPlane } from '../../data/data-plane.js';
import type { MetricProviderOverride } from '../runtime.js';
import type { StepContext } from '../step.js';

/** The plain gate used when the plan has no analysis section: the target's error rate stays low. */
const DEFAULT_CHECKS = [
  checkSchema.parse({ name: 'errors', metric: 'router.error_rate', max: 0.05, relativeToSource: { fail: 2 } }),
];

export function analysisFor(ctx: StepContext, stage: StageName): Partial<AnalysisSpec> {
  const base: Partial<AnalysisSpec> = ctx.plan.spec.analysis ?? { interval: '1s', checks: DEFAULT_CHECKS };
  const override = ctx.plan.spec.stages.find((s) => s.name === stage)?.analysis;
  const merged = { ...base, ...(override ?? {}) };
  if (!merged.checks || merged.checks.length === 0) merged.checks = base.checks ?? DEFAULT_CHECKS;
  return merged;
}

export function bakeFor(ctx: StepContext, stage: StageName): number {
  const override = ctx.plan.spec.stages.find((s) => s.name === stage)?.bake;
  return parseDuration(override ?? ctx.plan.spec.traffic?.reads.bake ?? '30s');
}

function sampleOf(now: RouterStats, before: RouterStats | null, windowMs: number) {
  const sites: Record<string, { reads: ClassSample; writes: ClassSample }> = {};
  for (const [site, classes] of Object.entries(now.sites)) {
    const one = (cls: 'reads' | 'writes'): ClassSample => {
      const a = classes[cls];
      const b = before?.sites[site]?.[cls];
      // A router that restarted counts from zero again: the window is then its new counts alone.
      const restarted = b !== undefined && a.requests < b.requests;
      const base = restarted ? undefined : b;
      const requests = a.requests - (base?.requests ?? 0);
      const errors = Math.max(0, a.errors - (base?.errors ?? 0));
      const window = latencyWindow(base?.latencyBuckets, a.latencyBuckets);
      return {
        requests,
        errors,
        errorRate: requests === 0 ? null : errors / requests,
        p50Ms: window.p50Ms,
        p99Ms: window.p99Ms,
      };
    };
    sites[site] = { reads: one('reads'), writes: one('writes') };
  }
  return { sites, windowMs };
}

export interface WatchOptions {
  stage: StageName;
  gate: string;
  router: TrafficRouter;
  bakeMs: number;
  /** The read share asked of the target (adds the observed-share check). */
  expectedShare?: number;
  /** Measure and report replication lag (while the source is the writer). */
  reportLag: boolean;
  /** Where lag is measured. */
  data: DataPlane;
  /** The runtime's providers for gate checks, if it was given any. */
  metricProviders?: MetricProviderOverride;
}

/** Statistics the gate's router provider reads: the router's own cumulative counters. */
function routerStatsSource(router: TrafficRouter): () => Promise<RouterStatsInput> {
  return async () => {
    const snapshot = await router.snapshot();
    return { sites: snapshot.stats.sites, held: snapshot.stats.held };
  };
}

/** Measures every database's replication lag (2 s bound each) and tells the router the worst; null when one cannot be measured. */
export async function reportLag(ctx: StepContext, router: TrafficRouter, data: DataPlane): Promise<number | null> {
  let worst: number | null = 0;
  for (const entry of ctx.plan.spec.data) {
    try {
      const lag = await data.lag(ctx, entry, 2000);
      worst = worst === null ? null : Math.max(worst, lag);
    } catch (error) {
      ctx.logger.warn('replication lag could not be measured; reads stay off the target until it can', {
        database: entry.database,
        error: messageOf(error),
      });
      worst = null;
    }
  }
  await router.reportLag({ target: worst });
  return worst;
}

export async function watchStep(ctx: StepContext, options: WatchOptions): Promise<Record<string, unknown>> {
  const analysis = analysisFor(ctx, options.stage);
  const sites = {
    source: {
      ...(ctx.plan.spec.source.endpoint ? { endpoint: ctx.plan.spec.source.endpoint } : {}),
      databases: {} as Record<string, string>,
    },
    target: {
      ...(ctx.plan.spec.target.endpoint ? { endpoint: ctx.plan.spec.target.endpoint } : {}),
      databases: {} as Record<string, string>,
    },
  };
  for (const site of ['source', 'target'] as const) {
    for (const name of Object.keys(ctx.plan.spec[site].databases))
      sites[site].databases[name] = ctx.secrets.databaseUrl(site, name);
  }
  const gate = buildGate({
    name: options.gate,
    analysis,
    context: { sites, routerStats: routerStatsSource(options.router), redactor: ctx.redactor },
    bakeMs: options.bakeMs,
    ...(options.expectedShare !== undefined ? { expectedShare: options.expectedShare } : {}),
    ...(options.metricProviders
      ? { providerFor: (check: CheckConfig) => options.metricProviders?.(check, options.gate) }
      : {}),
    events: ctx.events,
  });
  const sampleEveryMs = Math.max(1000, Math.min(parseDuration(analysis.interval ?? '5s'), 5000));
  // Bounded: the bake, then at most the escalation bound of the checks (10 minutes by default).
  const deadline = Date.now() + options.bakeMs + 15 * 60_000;
  let previous: RouterStats | null = (await options.router.snapshot()).stats;
  let lastSample = Date.now();
  // Lag is measured beside the gate, one measurement at a time, never in its way: a slow marker
  // round trip (up to its 2 s bound on a loaded machine) must not delay a rollback decision.
  let lagInFlight: Promise<void> | null = null;
  const measureLagInBackground = (): void => {
    if (!options.reportLag || lagInFlight) return;
    lagInFlight = reportLag(ctx, options.router, options.data)
      .then(() => undefined)
      .catch((error: unknown) =>
        ctx.logger.warn('reporting replication lag to the router failed', { error: messageOf(error) }),
      )
      .finally(() => {
        lagInFlight = null;
      });
  };
  await gate.start();
  try {
    for (;;) {
      measureLagInBackground();
      const decision = await gate.tick(ctx.signal);
      const now = Date.now();
      if (now - lastSample >= sampleEveryMs) {
        const stats = (await options.router.snapshot()).stats;
        ctx.events.emit('traffic-sample', sampleOf(stats, previous, now - lastSample), {
          actor: 'router',
          subject: options.gate,
        });
        previous = stats;
        lastSample = now;
      }
      if (decision.decision === 'advance') {
        // The next step starts with no measurement of this one still running. (A rollback does not wait for it.)
        await (lagInFlight as Promise<void> | null);
        return { gate: options.gate, decision: 'advance', reasons: decision.reasons, bakeMs: decision.bake.elapsedMs };
      }
      if (decision.decision === 'rollback') {
        const endpoint = ctx.plan.spec.source.endpoint;
        if (endpoint) {
          const health = await checkSourceHealth({ endpoint, signal: ctx.signal });
          if (!health.healthy) {
            throw new HoldRunError(
              `gate ${options.gate} decided to roll back (${decision.reasons[0] ?? ''}), but ${health.reason}`,
            );
          }
        }
        throw new GateFailedError(`gate ${options.gate} failed: ${decision.reasons.join('; ')}`, {
          details: { checks: decision.checks },
        });
      }
      if (decision.decision === 'escalate') {
        throw new HoldRunError(
          `gate ${options.gate} cannot judge: ${decision.reasons.join('; ')}; nothing was rolled back`,
        );
      }
      if (now > deadline)
        throw new HoldRunError(`gate ${options.gate} did not decide within its bound: ${decision.reasons.join('; ')}`);
      const wait = Math.max(50, Math.min(gate.nextDueAt() - Date.now(), 1000));
      await sleep(wait, ctx.signal);
    }
  } finally {
    await gate.stop();
  }
}
