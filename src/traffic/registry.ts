/**
 * Which TrafficRouter a plan gets, by `spec.traffic.router.kind`: an explicit record, so a kind
 * without an implementation fails loudly instead of falling back to something else.
 */
import { InputError, NotImplementedError } from '../common/errors.js';
import type { EventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import type { Migration, SecretRef } from '../plan/schema.js';
import { createBuiltinRouter } from './builtin/builtin-router.js';
import { builtinRouterOptionsFromPlan } from './from-plan.js';
import type { TrafficRouter } from './router.js';

export type RouterKind = NonNullable<Migration['spec']['traffic']>['router']['kind'];

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
}

export type TrafficRouterFactory = (spec: Migration['spec'], deps: TrafficRouterDeps) => Promise<TrafficRouterHandle>;

export const trafficRouterFactories: Record<RouterKind, TrafficRouterFactory> = {
  async builtin(spec, deps) {
    const router = spec.traffic?.router;
    const token =
      router?.kind === 'builtin' && router.adminToken !== undefined
        ? deps.resolveSecret(router.adminToken, 'spec.traffic.router.adminToken')
        : undefined;
    const built = await createBuiltinRouter(builtinRouterOptionsFromPlan(spec, token), { events: deps.events, logger: deps.logger });
    return { router: built.router, proxyUrl: built.server.proxyUrl, close: () => built.server.close() };
  },
  async 'gateway-api'() {
    throw new NotImplementedError('traffic router kind "gateway-api"', 'traffic plane: Gateway API driver');
  },
  async dns() {
    throw new NotImplementedError('traffic router kind "dns"', 'traffic plane: DNS driver');
  },
};

/** The plan's traffic router, started or connected. */
export function createTrafficRouterForPlan(spec: Migration['spec'], deps: TrafficRouterDeps): Promise<TrafficRouterHandle> {
  const kind = spec.traffic?.router.kind;
  if (kind === undefined) throw new InputError('spec.traffic: the plan has no traffic section, so there is no router to drive');
  return trafficRouterFactories[kind](spec, deps);
}
