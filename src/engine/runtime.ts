/**
 * The adapters a run's steps use, made from the plan by explicit registries (an unknown kind is a
 * plan error, never a fallback) and kept for the life of the executor process: the traffic router,
 * the data plane and each site's platform. Steps reach them through `StageDeps.runtime`.
 */
import path from 'node:path';
import { openProcessRegistry, type ProcessRegistry } from '../common/children.js';
import { NotImplementedError } from '../common/errors.js';
import type { DataPlane } from '../data/data-plane.js';
import { createPostgresDataPlane } from '../data/postgres/data-plane.js';
import type { Platform, SiteName } from '../platforms/platform.js';
import { createKubernetesPlatform } from '../platforms/kubernetes/kubernetes-platform.js';
import { createLocalPlatform } from '../platforms/local/local-platform.js';
import type { Migration } from '../plan/schema.js';
import { createHttpRouter, type HttpTrafficRouter } from '../traffic/client/http-router.js';
import { trafficRouterFactories, type TrafficRouterDeps } from '../traffic/registry.js';
import type { TrafficRouter } from '../traffic/router.js';
import type { StepContext } from './step.js';

type RouterSpec = NonNullable<Migration['spec']['traffic']>['router'];
type PlatformSpec = Migration['spec']['source']['platform'];

export interface Runtime {
  readonly stateDir: string;
  readonly processes: ProcessRegistry;
  /**
   * The plan's traffic router; throws when the plan has no traffic section. A built-in router with
   * an admin address is driven over its admin API (it runs as its own process, `handoff router`);
   * without one it is started in this process and lives as long as it.
   */
  router(ctx: StepContext): Promise<TrafficRouter>;
  dataPlane(): DataPlane;
  platform(ctx: StepContext, site: SiteName): Platform;
  /** Closes clients; leaves workloads running (they are stopped by their own steps or on exit). */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  stateDir: string;
  /** The process registry to record children in; `<stateDir>/processes.json` when left out (the demo shares one across runs). */
  processes?: ProcessRegistry;
  /** Use these instead of building from the plan (tests, or the demo's in-process pieces). */
  overrides?: { router?: TrafficRouter; dataPlane?: DataPlane; platforms?: Partial<Record<SiteName, Platform>> };
}

type RouterFactory<K extends RouterSpec['kind']> = (
  spec: Extract<RouterSpec, { kind: K }>,
  ctx: StepContext,
) => Promise<TrafficRouter & { close?(): Promise<void> }>;

function registryDeps(ctx: StepContext): TrafficRouterDeps {
  return { events: ctx.events, logger: ctx.logger, redactor: ctx.redactor, resolveSecret: (ref, where) => ctx.secrets.resolve(ref, where) };
}

const routerFactories: { [K in RouterSpec['kind']]: RouterFactory<K> } = {
  async builtin(spec, ctx) {
    if (spec.admin && spec.adminToken) {
      const token = ctx.secrets.resolve(spec.adminToken, 'spec.traffic.router.adminToken');
      const adminUrl = /^https?:\/\//.test(spec.admin) ? spec.admin : `http://${spec.admin}`;
      return createHttpRouter({ adminUrl, token }, { redactor: ctx.redactor }) satisfies HttpTrafficRouter;
    }
    const handle = await trafficRouterFactories.builtin(ctx.plan.spec, registryDeps(ctx));
    return Object.assign(Object.create(null) as object, handle.router, { close: () => handle.close() }) as TrafficRouter & { close(): Promise<void> };
  },
  'gateway-api'(_spec, ctx) {
    return trafficRouterFactories['gateway-api'](ctx.plan.spec, registryDeps(ctx)).then((h) => h.router);
  },
  dns(_spec, ctx) {
    return trafficRouterFactories.dns(ctx.plan.spec, registryDeps(ctx)).then((h) => h.router);
  },
};

type PlatformFactory<K extends PlatformSpec['kind']> = (
  spec: Extract<PlatformSpec, { kind: K }>,
  site: SiteName,
  ctx: StepContext,
  runtime: { stateDir: string; processes: ProcessRegistry },
) => Platform;

const platformFactories: { [K in PlatformSpec['kind']]: PlatformFactory<K> } = {
  local(_spec, site, ctx, runtime) {
    const databases: Record<string, string> = {};
    for (const name of Object.keys(ctx.plan.spec[site].databases)) databases[name] = ctx.secrets.databaseUrl(site, name);
    const endpoint = ctx.plan.spec[site].endpoint;
    return createLocalPlatform({
      site,
      stateDir: runtime.stateDir,
      processes: ctx.plan.spec.workloads?.processes ?? [],
      ...(endpoint ? { endpoint } : {}),
      databases,
      registry: runtime.processes,
    });
  },
  kubernetes(_spec, site, ctx) {
    return createKubernetesPlatform({ plan: ctx.plan, site }, { redactor: ctx.redactor });
  },
};

export function createRuntime(options: RuntimeOptions): Runtime {
  const processes = options.processes ?? openProcessRegistry(path.join(options.stateDir, 'processes.json'));
  let router: (TrafficRouter & { close?(): Promise<void> }) | null = options.overrides?.router ?? null;
  let routerMaking: Promise<TrafficRouter & { close?(): Promise<void> }> | null = null;
  let dataPlane: DataPlane | null = options.overrides?.dataPlane ?? null;
  const platforms = new Map<SiteName, Platform>(Object.entries(options.overrides?.platforms ?? {}) as Array<[SiteName, Platform]>);

  return {
    stateDir: options.stateDir,
    processes,
    async router(ctx) {
      if (router) return router;
      const spec = ctx.plan.spec.traffic?.router;
      if (!spec) throw new NotImplementedError('a traffic stage without spec.traffic', 'add a traffic section to the plan');
      routerMaking ??= (routerFactories[spec.kind] as RouterFactory<typeof spec.kind>)(spec as never, ctx);
      router = await routerMaking;
      return router;
    },
    dataPlane() {
      dataPlane ??= createPostgresDataPlane();
      return dataPlane;
    },
    platform(ctx, site) {
      const existing = platforms.get(site);
      if (existing) return existing;
      const spec = ctx.plan.spec[site].platform;
      const factory = platformFactories[spec.kind] as PlatformFactory<typeof spec.kind>;
      const made = factory(spec as never, site, ctx, { stateDir: options.stateDir, processes });
      platforms.set(site, made);
      return made;
    },
    async close() {
      if (router && router !== options.overrides?.router) await router.close?.();
    },
  };
}
