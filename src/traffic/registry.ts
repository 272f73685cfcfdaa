/**
 * Which TrafficRouter a plan gets, by `spec.traffic.router.kind`: an explicit record, so a kind
 * without an implementation fails loudly instead of falling back to something else.
 */
import { InputError } from '../common/errors.js';
import type { EventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import { createRedactor, type Redactor } from '../common/redact.js';
import type { Migration, SecretRef } from '../plan/schema.js';
import { createBuiltinRouter } from './builtin/builtin-router.js';
import { createDnsRouter } from './dns/dns-router.js';
import { createGatewayApiRouter } from './gateway-api/gateway-api-router.js';
import { routerClusterFromPlan } from './gateway-api/router-cluster.js';
import { builtinRouterOptionsFromPlan } from './from-plan.js';
import type { RouterKind } from './capabilities.js';
import type { TrafficRouter } from './router.js';

export type { RouterKind } from './capabilities.js';
/** What the plan's router can do, before it is built (the planner asks this; the built router says the same). */
export { capabilitiesOf } from './capabilities.js';

export interface TrafficRouterHandle {
  router: TrafficRouter;
  /** Where clients send their traffic, when the router is a proxy this process runs. */
  proxyUrl: string | null;
  /** Stops what the factory started (idempotent). */
  close(): Promise<void>;
}

export interface TrafficRouterDeps {
  events: EventBus;
  logger: Logger;
  /** Resolves a secret reference of the plan (and registers it with the redactor). */
  resolveSecret(ref: SecretRef, path: string): string;
  /** The run's redactor: a kubeconfig token is registered with it (a private one when left out). */
  redactor?: Redactor;
}

export type TrafficRouterFactory = (spec: Migration['spec'], deps: TrafficRouterDeps) => Promise<TrafficRouterHandle>;

export const trafficRouterFactories: Record<RouterKind, TrafficRouterFactory> = {
  async builtin(spec, deps) {
    const router = spec.traffic?.router;
    const token =
      router?.kind === 'builtin' && router.adminToken !== undefined
        ? deps.resolveSecret(router.adminToken, 'spec.traffic.router.adminToken')
        : undefined;
    const built = await createBuiltinRouter(builtinRouterOptionsFromPlan(spec, token), {
      events: deps.events,
      logger: deps.logger,
    });
    return { router: built.router, proxyUrl: built.server.proxyUrl, close: () => built.server.close() };
  },
  async 'gateway-api'(spec, deps) {
    const router = spec.traffic?.router;
    if (router?.kind !== 'gateway-api') throw new InputError('spec.traffic.router: not a gateway-api router');
    const cluster = routerClusterFromPlan(spec, 'gateway-api');
    const built = createGatewayApiRouter(
      { route: router.route, ...cluster },
      { events: deps.events, logger: deps.logger, redactor: deps.redactor ?? createRedactor() },
    );
    return { router: built, proxyUrl: null, close: async () => {} };
  },
  async dns(spec, deps) {
    const router = spec.traffic?.router;
    if (router?.kind !== 'dns') throw new InputError('spec.traffic.router: not a dns router');
    const cluster = routerClusterFromPlan(spec, 'dns');
    const built = createDnsRouter(
      { record: router.record, ...cluster },
      { events: deps.events, logger: deps.logger, redactor: deps.redactor ?? createRedactor() },
    );
    return { router: built, proxyUrl: null, close: async () => {} };
  },
};

/** The plan's traffic router, started or connected. */
export function createTrafficRouterForPlan(
  spec: Migration['spec'],
  deps: TrafficRouterDeps,
): Promise<TrafficRouterHandle> {
  const kind = spec.traffic?.router.kind;
  if (kind === undefined)
    throw new InputError('spec.traffic: the plan has no traffic section, so there is no router to drive');
  return trafficRouterFactories[kind](spec, deps);
}
