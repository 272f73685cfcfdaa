/**
 * The `gateway-api` traffic driver: moves traffic by setting the weights of an HTTPRoute's
 * backendRefs (first the source Service, second the target), integers out of 1000, so 0.5 % is
 * 5. Weights only: reads and writes move together, requests cannot be held, and read-after-write is
 * not kept (see `../capability-findings.ts`, reported by preflight).
 */
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/logger.js';
import type { Redactor } from '../../common/redact.js';
import { createKubeClient } from '../../platforms/kubernetes/client.js';
import { GATEWAY_API_CAPABILITIES } from '../capabilities.js';
import type { TrafficRouter } from '../router.js';
import { createHttpRouteStore } from './http-route-store.js';
import { createWeightedRouter } from './weighted-router.js';

export { GATEWAY_API_SCALE } from '../capabilities.js';

export interface GatewayApiRouterOptions {
  /** Name of the HTTPRoute. */
  route: string;
  namespace: string;
  /** Kubeconfig context of the cluster that holds the route. */
  context: string;
  kubeconfig?: string;
  /** Site names in backendRef order (default source, target). */
  sites?: readonly [string, string];
  requestTimeoutMs?: number;
}

export interface GatewayApiRouterDeps {
  events: EventBus;
  logger: Logger;
  redactor: Redactor;
}

export function createGatewayApiRouter(options: GatewayApiRouterOptions, deps: GatewayApiRouterDeps): TrafficRouter {
  const sites = options.sites ?? (['source', 'target'] as const);
  const client = createKubeClient(
    {
      context: options.context,
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    },
    { redactor: deps.redactor },
  );
  const store = createHttpRouteStore({ route: options.route, namespace: options.namespace, sites }, client);
  return createWeightedRouter(
    { driver: 'gateway-api', capabilities: GATEWAY_API_CAPABILITIES, sites },
    {
      store,
      events: deps.events,
      logger: deps.logger.child({
        router: 'gateway-api',
        route: `${options.namespace}/${options.route}`,
        context: options.context,
      }),
    },
  );
}
