/**
 * The adapters a run's steps use, made from the plan by explicit registries (an unknown kind is a
 * plan error, never a fallback) and kept for the life of the executor process: the traffic router,
 * the data plane and each site's platform. Steps reach them through `StageDeps.runtime`; the
 * implementations are named only in adapters.ts, and `RuntimeOptions.overrides` replaces any of them.
 */
import path from 'node:path';
import type { MetricProvider } from '../analysis/provider.js';
import type { CheckConfig } from '../analysis/check-config.js';
import { openProcessRegistry, type ProcessRegistry } from '../common/children.js';
import { InternalError } from '../common/errors.js';
import type { DataPlane } from '../data/data-plane.js';
import type { Platform, SiteName } from '../platforms/platform.js';
import type { Migration } from '../plan/schema.js';
import type { TrafficRouter } from '../traffic/router.js';
import { buildDataPlane, buildPlatform, buildRouter, type OwnedRouter } from './adapters.js';
import type { StepContext } from './step.js';

/**
 * Makes a gate check's metric provider instead of the analysis registry (tests: a recorded series).
 * Called once per check per gate (a provider is started and stopped with its gate); `undefined`
 * leaves the check to the registry.
 */
export type MetricProviderOverride = (check: CheckConfig, gate: string) => MetricProvider | undefined;

export interface Runtime {
  readonly stateDir: string;
  readonly processes: ProcessRegistry;
  /**
   * The plan's traffic router; throws when the plan has no traffic section. A built-in router with
   * an admin address is driven over its admin API (it runs as its own process, `handoff router`);
   * without one it is started in this process and lives as long as it.
   */
  router(ctx: StepContext): Promise<TrafficRouter>;
  /** The data plane for the plan's databases; made once, on first use, with no I/O (stages ask while being built). */
  dataPlane(plan: Migration): DataPlane;
  platform(ctx: StepContext, site: SiteName): Platform;
  /** Gate checks' providers given to the runtime instead of the registry's (absent: the registry's). */
  readonly metricProviders?: MetricProviderOverride;
  /** Closes clients; leaves workloads running (they are stopped by their own steps or on exit). */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  stateDir: string;
  /** The process registry to record children in; `<stateDir>/processes.json` when left out (the demo shares one across runs). */
  processes?: ProcessRegistry;
  /** Use these instead of building from the plan (tests, or the demo's in-process pieces). */
  overrides?: {
    router?: TrafficRouter;
    dataPlane?: DataPlane;
    platforms?: Partial<Record<SiteName, Platform>>;
    metricProviders?: MetricProviderOverride;
  };
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const processes = options.processes ?? openProcessRegistry(path.join(options.stateDir, 'processes.json'));
  let router: OwnedRouter | null = options.overrides?.router ?? null;
  let routerMaking: Promise<OwnedRouter> | null = null;
  let dataPlane: DataPlane | null = options.overrides?.dataPlane ?? null;
  const platforms = new Map<SiteName, Platform>(
    Object.entries(options.overrides?.platforms ?? {}) as Array<[SiteName, Platform]>,
  );

  return {
    stateDir: options.stateDir,
    processes,
    ...(options.overrides?.metricProviders ? { metricProviders: options.overrides.metricProviders } : {}),
    async router(ctx) {
      if (router) return router;
      const spec = ctx.plan.spec.traffic?.router;
      // Stages without spec.traffic are skipped by the planner; asking for a router here is a bug.
      if (!spec) throw new InternalError('a step asked for the traffic router, but the plan has no spec.traffic');
      routerMaking ??= buildRouter(spec, ctx);
      router = await routerMaking;
      return router;
    },
    dataPlane(plan) {
      dataPlane ??= buildDataPlane(plan);
      return dataPlane;
    },
    platform(ctx, site) {
      const existing = platforms.get(site);
      if (existing) return existing;
      const made = buildPlatform(site, ctx, { stateDir: options.stateDir, processes });
      platforms.set(site, made);
      return made;
    },
    async close() {
      if (router && router !== options.overrides?.router) await router.close?.();
    },
  };
}
