/**
 * The TrafficRouter contract for the routers driven through cluster objects, against the Kubernetes
 * API test server: the gateway-api driver over an HTTPRoute (its CRD served by the test server) and
 * the dns driver over external-dns annotated Services. Each case gets its own route or namespace,
 * starting with every weight on the source. The capabilities they are described with are the ones
 * `capabilitiesOf(spec)` gives the planner for a plan naming them.
 */
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createEventBus } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { capabilitiesByKind } from '../../src/traffic/capabilities.js';
import { createDnsRouter } from '../../src/traffic/dns/dns-router.js';
import { createGatewayApiRouter } from '../../src/traffic/gateway-api/gateway-api-router.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';
import { describeTrafficRouterContract } from './traffic-router.shared.js';

const TOKEN = 'contract-kube-token-0123456789';

let server: KubeTestServer;
let kubeconfig: string;
let cleanup: () => void;
let counter = 0;

const httpRouteCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'httproutes.gateway.networking.k8s.io' },
  spec: {
    group: 'gateway.networking.k8s.io',
    scope: 'Namespaced',
    names: { plural: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', listKind: 'HTTPRouteList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

beforeAll(async () => {
  const tmp = makeTempDir('handoff-router-contract-');
  cleanup = tmp.cleanup;
  server = await startKubeTestServer({ token: TOKEN });
  server.seed([httpRouteCrd]);
  kubeconfig = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, [{ name: 'edge', url: server.url, token: TOKEN }]);
});
afterAll(async () => {
  await server?.close();
  cleanup?.();
});

const deps = () => ({ events: createEventBus(), logger: createSilentLogger(), redactor: createRedactor() });

describeTrafficRouterContract('gateway-api', capabilitiesByKind['gateway-api'], async () => {
  const namespace = `shop-${++counter}`;
  server.seed([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace },
      spec: {
        parentRefs: [{ name: 'public', namespace: 'gateways' }],
        rules: [
          {
            backendRefs: [
              { name: 'web', port: 8080, weight: 1 },
              { group: 'multicluster.x-k8s.io', kind: 'ServiceImport', name: 'web', port: 8080, weight: 0 },
            ],
          },
        ],
      },
    },
  ]);
  const router = createGatewayApiRouter({ route: 'web', namespace, context: 'edge', kubeconfig }, deps());
  return { router, close: async () => undefined };
});

describeTrafficRouterContract('dns', capabilitiesByKind.dns, async () => {
  const namespace = `dns-${++counter}`;
  const service = (name: string, site: string, setIdentifier: string, weight: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: { 'handoff.dev/site': site },
      annotations: {
        'external-dns.alpha.kubernetes.io/hostname': 'shop.example.com',
        'external-dns.alpha.kubernetes.io/set-identifier': setIdentifier,
        'external-dns.alpha.kubernetes.io/aws-weight': String(weight),
      },
    },
    spec: { type: 'ExternalName', externalName: `${name}.lb.example.net` },
  });
  server.seed([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    service('web-eks', 'source', 'eks', 200),
    service('web-gke', 'target', 'gke', 0),
  ]);
  const router = createDnsRouter({ record: 'shop.example.com', namespace, context: 'edge', kubeconfig }, deps());
  return { router, close: async () => undefined };
});
