/**
 * The one place the engine names adapter implementations: the runtime (runtime.ts) builds the data
 * plane, the traffic router and each site's platform through these explicit registries (an unknown
 * kind is a plan error, never a fallback). Everything else under src/engine works through the
 * interfaces (DataPlane, TrafficRouter, Platform), so tests can hand the runtime fakes instead
 * (`RuntimeOptions.overrides`). A test (test/engine/boundary.test.ts) keeps it so.
 */
import type { ProcessRegistry } from '../common/children.js';
import { parseDuration } from '../common/duration.js';
import type { DataPlane } from '../data/data-plane.js';
import { createPostgresDataPlane } from '../data/postgres/data-plane.js';
import type { PostgresDataPlaneOptions } from '../data/postgres/options.js';
import type { Platform, SiteName } from '../platforms/platform.js';
import { createKubernetesPlatform } from '../platforms/kubernetes/kubernetes-platform.js';
import { createLocalPlatform } from '../platforms/local/local-platform.js';
import type { Migration } from '../plan/schema.js';
import type { PlanSecrets } from '../plan/secrets.js';
import type { Redactor } from '../common/redact.js';
import { createHttpRouter, type HttpTrafficRouter } from '../traffic/client/http-router.js';
import { trafficRouterFactories, type TrafficRouterDeps } from '../traffic/registry.js';
import type { TrafficRouter } from '../traffic/router.js';
import type { StepContext } from './step.js';

type RouterSpec = NonNullable<Migration['spec']['traffic']>['router'];
type PlatformSpec = Migration['spec']['source']['platform'];

/** A router the runtime made (and closes), or one it was given. */
export type OwnedRouter = TrafficRouter & { close?(): Promise<void> };

/**
 * The PostgreSQL data plane's options from the plan: the cutover's lag bound from
 * `spec.traffic.cutover.maxLagToStart` (at least 1 s). New settings (pacing of verification and copy)
 * are added here and reach every data-plane step through the factory, not the interface.
 */
export function dataPlaneOptions(plan: Migration): PostgresDataPlaneOptions {
  const cutover = plan.spec.traffic?.cutover;
  return cutover ? { maxLagToStartMs: Math.max(parseDuration(cutover.maxLagToStart), 1000) } : {};
}

/** The data plane for the plan's databases (PostgreSQL, the only engine today). Makes no connection. */
export function buildDataPlane(plan: Migration): DataPlane {
  return createPostgresDataPlane(dataPlaneOptions(plan));
}

type RouterFactory<K extends RouterSpec['kind']> = (
  spec: Extract<RouterSpec, { kind: K }>,
  ctx: StepContext,
) => Promise<OwnedRouter>;

function registryDeps(ctx: StepContext): TrafficRouterDeps {
  return {
    events: ctx.events,
    logger: ctx.logger,
    redactor: ctx.redactor,
    resolveSecret: (ref, where) => ctx.secrets.resolve(ref, where),
  };
}

const routerFactories: { [K in RouterSpec['kind']]: RouterFactory<K> } = {
  async builtin(spec, ctx) {
    if (spec.admin && spec.adminToken) {
      const token = ctx.secrets.resolve(spec.adminToken, 'spec.traffic.router.adminToken');
      const adminUrl = /^https?:\/\//.test(spec.admin) ? spec.admin : `http://${spec.admin}`;
      return createHttpRouter({ adminUrl, token }, { redactor: ctx.redactor }) satisfies HttpTrafficRouter;
    }
    const handle = await trafficRouterFactories.builtin(ctx.plan.spec, registryDeps(ctx));
    return Object.assign(Object.create(null) as object, handle.router, {
      close: () => handle.close(),
    }) as TrafficRouter & { close(): Promise<void> };
  },
  'gateway-api'(_spec, ctx) {
    return trafficRouterFactories['gateway-api'](ctx.plan.spec, registryDeps(ctx)).then((h) => h.router);
  },
  dns(_spec, ctx) {
    return trafficRouterFactories.dns(ctx.plan.spec, registryDeps(ctx)).then((h) => h.router);
  },
};

/**
 * The plan's traffic router. A built-in router with an admin address is driven over its admin API
 * (it runs as its own process, `handoff router`); without one it is started in this process.
 */
export function buildRouter(spec: RouterSpec, ctx: StepContext): Promise<OwnedRouter> {
  return (routerFactories[spec.kind] as RouterFactory<typeof spec.kind>)(spec as never, ctx);
}

type PlatformFactory<K extends PlatformSpec['kind']> = (
  spec: Extract<PlatformSpec, { kind: K }>,
  site: SiteName,
  ctx: StepContext,
  runtime: { stateDir: string; processes: ProcessRegistry },
) => Platform;

const platformFactories: { [K in PlatformSpec['kind']]: PlatformFactory<K> } = {
  local(_spec, site, ctx, runtime) {
    const databases: Record<string, string> = {};
    for (const name of Object.keys(ctx.plan.spec[site].databases))
      databases[name] = ctx.secrets.databaseUrl(site, name);
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

/** One site's platform (Kubernetes, or local processes). */
export function buildPlatform(
  site: SiteName,
  ctx: StepContext,
  runtime: { stateDir: string; processes: ProcessRegistry },
): Platform {
  const spec = ctx.plan.spec[site].platform;
  return (platformFactories[spec.kind] as PlatformFactory<typeof spec.kind>)(spec as never, site, ctx, runtime);
}

/**
 * Reads the plan's Kubernetes Secret references into memory (registered with the redactor as they
 * are decoded). The Kubernetes client is loaded only when a plan has such references.
 */
export async function loadKubernetesSecrets(
  secrets: PlanSecrets,
  redactor: Redactor,
  signal?: AbortSignal,
): Promise<void> {
  if (secrets.kubernetesRefs === 0) return;
  const { createKubernetesSecretReader } = await import('../platforms/kubernetes/secrets.js');
  await secrets.loadKubernetes(createKubernetesSecretReader({}, { redactor }), signal);
}
