/**
 * The `dns` traffic driver: moves traffic by setting external-dns weighted-record annotations
 * (`set-identifier`, `aws-weight`) on one Service per site (`service-records-store.ts`). Route 53
 * weights go up to 255, so weights are written out of 200: 0.5 % is 1. Weights only, as the
 * gateway-api driver: reads and writes move together, nothing can be held, read-after-write is not
 * kept, and resolvers cache answers for the record's TTL (see `../capability-findings.ts`).
 */
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/logger.js';
import type { Redactor } from '../../common/redact.js';
import { createKubeClient } from '../../platforms/kubernetes/client.js';
import { createWeightedRouter } from '../gateway-api/weighted-router.js';
import { DNS_CAPABILITIES } from '../capabilities.js';
import type { TrafficRouter } from '../router.js';
import { createServiceRecordsStore } from './service-records-store.js';

export { DNS_SCALE } from '../capabilities.js';

export interface DnsRouterOptions {
  /** The DNS name, as in the Services' hostname annotation. */
  record: string;
  namespace: string;
  context: string;
  kubeconfig?: string;
  sites?: readonly string[];
  requestTimeoutMs?: number;
}

export interface DnsRouterDeps {
  events: EventBus;
  logger: Logger;
  redactor: Redactor;
}

export function createDnsRouter(options: DnsRouterOptions, deps: DnsRouterDeps): TrafficRouter {
  const sites = options.sites ?? ['source', 'target'];
  const client = createKubeClient(
    {
      context: options.context,
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    },
    { redactor: deps.redactor },
  );
  const store = createServiceRecordsStore({ record: options.record, namespace: options.namespace, sites }, client);
  return createWeightedRouter(
    { driver: 'dns', capabilities: DNS_CAPABILITIES, sites },
    {
      store,
      events: deps.events,
      logger: deps.logger.child({ router: 'dns', record: options.record, context: options.context }),
    },
  );
}
