/**
 * The gateway-api driver against the Kubernetes API test server: the test creates the HTTPRoute
 * CRD, a route whose backendRefs are the source Service and a ServiceImport of the target, and a
 * kubeconfig context for the cluster; the driver reads and writes the route's weights through it.
 */
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/common/events.js';
import { HandoffError } from '../../src/common/errors.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { migration } from '../../src/plan/schema.js';
import { createKubeClient, type KubeClient } from '../../src/platforms/kubernetes/client.js';
import { createGatewayApiRouter } from '../../src/traffic/gateway-api/gateway-api-router.js';
import { createHttpRouteStore } from '../../src/traffic/gateway-api/http-route-store.js';
import { createWeightedRouter } from '../../src/traffic/gateway-api/weighted-router.js';
import { createTrafficRouterForPlan } from '../../src/traffic/registry.js';
import type { TrafficRouter } from '../../src/traffic/router.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';
import { GATEWAY_API_CAPABILITIES } from '../../src/traffic/capabilities.js';

const TOKEN = 'gw-token-0123456789abcdef';

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

function route(name: string, rules: Array<Array<Record<string, unknown>>>): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'shop' },
    spec: {
      parentRefs: [{ name: 'public', namespace: 'gateways' }],
      hostnames: ['shop.example.com'],
      rules: rules.map((backendRefs, i) => ({
        matches: [{ path: { type: 'PathPrefix', value: `/${i}` } }],
        backendRefs,
      })),
    },
  };
}

const source = (weight?: number) => ({ name: 'web', port: 8080, ...(weight === undefined ? {} : { weight }) });
const target = (weight?: number) => ({
  group: 'multicluster.x-k8s.io',
  kind: 'ServiceImport',
  name: 'web',
  port: 8080,
  ...(weight === undefined ? {} : { weight }),
});

let server: KubeTestServer;
let kubeconfig: string;
let cleanup: () => void;

beforeAll(async () => {
  const tmp = makeTempDir('handoff-gw-');
  cleanup = tmp.cleanup;
  server = await startKubeTestServer({ token: TOKEN });
  server.seed([httpRouteCrd, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }]);
  kubeconfig = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, [{ name: 'edge', url: server.url, token: TOKEN }]);
});
afterAll(async () => {
  await server?.close();
  cleanup?.();
});

const storedRoute = z.object({
  metadata: z.looseObject({ resourceVersion: z.string() }),
  spec: z.looseObject({
    rules: z.array(z.looseObject({ backendRefs: z.array(z.looseObject({ weight: z.number().optional() })) })),
  }),
});

function stored(name: string) {
  return storedRoute.parse(server.read('gateway.networking.k8s.io/v1', 'HTTPRoute', name, 'shop'));
}

function weightsInCluster(name: string): Array<Array<number | undefined>> {
  return stored(name).spec.rules.map((rule) => rule.backendRefs.map((ref) => ref.weight));
}

function resourceVersion(name: string): string {
  return stored(name).metadata.resourceVersion;
}

function driver(routeName: string, redactor = createRedactor(), events = createEventBus()): TrafficRouter {
  return createGatewayApiRouter(
    { route: routeName, namespace: 'shop', context: 'edge', kubeconfig },
    { events, logger: createSilentLogger(), redactor },
  );
}

async function failure(promise: Promise<unknown>): Promise<HandoffError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HandoffError);
  return error as HandoffError;
}

describe('gateway-api traffic driver', () => {
  let counter = 0;
  let name: string;
  beforeEach(() => {
    name = `web-${++counter}`;
    server.seed([
      route(name, [
        [source(1), target(0)],
        [source(1), target(0)],
      ]),
    ]);
  });

  it('writes weights out of 1000 into every rule and reads them back, half a percent as 5/1000', async () => {
    const events = createEventBus();
    const seen: unknown[] = [];
    events.on((event) => {
      if (event.type === 'router-routes-changed') seen.push(event.data);
    });
    const router = driver(name, createRedactor(), events);
    expect((await router.snapshot()).routes).toEqual({
      reads: { source: 1, target: 0 },
      writes: { source: 1, target: 0 },
    });

    const result = await router.setRoutes({
      reads: { source: 0.995, target: 0.005 },
      writes: { source: 0.995, target: 0.005 },
    });
    expect(result.changed).toEqual(['reads', 'writes']);
    expect(weightsInCluster(name)).toEqual([
      [995, 5],
      [995, 5],
    ]);
    const snapshot = await router.snapshot();
    expect(snapshot.routes).toEqual({
      reads: { source: 0.995, target: 0.005 },
      writes: { source: 0.995, target: 0.005 },
    });
    expect(snapshot.hold.active).toBe(false);
    expect(snapshot.stats.sites.target?.reads.requests).toBe(0);
    expect(seen).toHaveLength(1);

    await router.setRoutes({ reads: { target: 1 }, writes: { target: 1 } });
    expect(weightsInCluster(name)).toEqual([
      [0, 1000],
      [0, 1000],
    ]);
    // The route's other fields are left as they were.
    const object = stored(name);
    expect(object.spec.hostnames).toEqual(['shop.example.com']);
    expect(object.spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateways' }]);
  });

  it('changes nothing when the weights asked for are already in the route (resourceVersion unchanged)', async () => {
    const router = driver(name);
    await router.setRoutes({ reads: { source: 0.75, target: 0.25 }, writes: { source: 0.75, target: 0.25 } });
    const before = resourceVersion(name);
    const puts = () =>
      server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/httproutes/${name}`)).length;
    const putsBefore = puts();
    const again = await router.setRoutes({
      reads: { source: 0.75, target: 0.25 },
      writes: { source: 0.75, target: 0.25 },
    });
    expect(again.changed).toEqual([]);
    expect(resourceVersion(name)).toBe(before);
    expect(puts()).toBe(putsBefore);
  });

  it('refuses reads and writes that differ, and a weight finer than 1/1000, changing nothing', async () => {
    const router = driver(name);
    const before = resourceVersion(name);
    const split = await failure(router.setRoutes({ reads: { source: 0.5, target: 0.5 } }));
    expect(split.code).toBe('input.invalid');
    expect(split.message).toContain('cannot route reads and writes apart');
    const differ = await failure(
      router.setRoutes({ reads: { source: 0.5, target: 0.5 }, writes: { source: 1, target: 0 } }),
    );
    expect(differ.message).toContain('a plan using it moves reads and writes together');
    const fine = await failure(
      router.setRoutes({ reads: { source: 0.9995, target: 0.0005 }, writes: { source: 0.9995, target: 0.0005 } }),
    );
    expect(fine.message).toContain('reads.source: weight 0.9995 is not a whole number of 1/1000');
    const sum = await failure(
      router.setRoutes({ reads: { source: 0.5, target: 0.6 }, writes: { source: 0.5, target: 0.6 } }),
    );
    expect(sum.message).toContain('weights must sum to 1');
    expect(resourceVersion(name)).toBe(before);
    expect(weightsInCluster(name)).toEqual([
      [1, 0],
      [1, 0],
    ]);
  });

  it('refuses to hold with a clear message; release is a no-op and reported lag is ignored', async () => {
    const router = driver(name);
    const held = await failure(router.hold({ classes: ['writes'], maxHoldMs: 2000 }));
    expect(held.code).toBe('adapter');
    expect(held.message).toBe(
      'the gateway-api driver cannot hold requests; the cutover refuses writes briefly instead',
    );
    expect(await router.release()).toEqual({ wasActive: false, released: 0, pauseMs: null, last: null });
    await router.reportLag({ target: 300 });
    expect((await router.snapshot()).lag).toEqual({ source: null, target: null });
    const unknown = await failure(router.reportLag({ pluto: 1 }));
    expect(unknown.message).toContain('pluto: unknown site');
  });

  it('says clearly when the HTTPRoute does not exist, or does not follow the source-then-target convention', async () => {
    const missing = await failure(driver('nowhere').snapshot());
    expect(missing.message).toContain('HTTPRoute shop/nowhere on context edge does not exist');
    expect(missing.message).toContain('the source Service first and the target second');
    const missingSet = await failure(driver('nowhere').setRoutes({ reads: { target: 1 }, writes: { target: 1 } }));
    expect(missingSet.message).toContain('does not exist');

    server.seed([route(`${name}-three`, [[source(1), target(0), source()]])]);
    expect((await failure(driver(`${name}-three`).snapshot())).message).toContain('spec.rules[0] has 3 backendRefs');
    server.seed([route(`${name}-swapped`, [[target(1), source(0)]])]);
    expect((await failure(driver(`${name}-swapped`).snapshot())).message).toContain(
      'the first backendRef must be the source Service',
    );
    server.seed([
      route(`${name}-apart`, [
        [source(1), target(0)],
        [source(0), target(1)],
      ]),
    ]);
    expect((await failure(driver(`${name}-apart`).snapshot())).message).toContain(
      'spec.rules[1] weighs 0:1 but spec.rules[0] 1:0',
    );
  });

  it('keeps an edit made between its read and its write: the stale PUT gets 409, it reads again and retries', async () => {
    const type = server.catalog.byKind('gateway.networking.k8s.io/v1', 'HTTPRoute');
    if (!type) throw new Error('the HTTPRoute CRD is not served');
    const real = createKubeClient({ context: 'edge', kubeconfig }, { redactor: createRedactor() });
    let edits = 0;
    let serial = 0;
    const editBeforePut = (limit: number): KubeClient => ({
      context: real.context,
      server: real.server,
      getOrUndefined: real.getOrUndefined,
      async request(req) {
        if (req.method === 'PUT' && edits < limit) {
          edits++;
          // Someone else (a GitOps controller, a person) changes the route in between.
          const hostnames = ['shop.example.com', `www${++serial}.example.com`];
          server.objects.patch(
            type,
            'shop',
            name,
            'application/merge-patch+json',
            JSON.stringify({ spec: { hostnames } }),
            { fieldManager: 'someone', dryRun: false },
          );
        }
        return real.request(req);
      },
    });
    const make = (client: KubeClient) =>
      createWeightedRouter(
        { driver: 'gateway-api', capabilities: GATEWAY_API_CAPABILITIES, sites: ['source', 'target'] },
        {
          store: createHttpRouteStore({ route: name, namespace: 'shop', sites: ['source', 'target'] }, client),
          events: createEventBus(),
          logger: createSilentLogger(),
        },
      );
    const puts = () =>
      server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/httproutes/${name}`)).length;
    const putsBefore = puts();
    await make(editBeforePut(1)).setRoutes({
      reads: { source: 0.9, target: 0.1 },
      writes: { source: 0.9, target: 0.1 },
    });
    expect(puts() - putsBefore).toBe(2);
    expect(weightsInCluster(name)).toEqual([
      [900, 100],
      [900, 100],
    ]);
    expect(stored(name).spec.hostnames).toEqual(['shop.example.com', 'www1.example.com']);

    // An edit before every attempt: after three, the conflict is reported (retryable), not overwritten.
    edits = 0;
    const error = await failure(
      make(editBeforePut(Infinity)).setRoutes({ reads: { target: 1 }, writes: { target: 1 } }),
    );
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Conflict');
    expect(edits).toBe(3);
    expect(weightsInCluster(name)).toEqual([
      [900, 100],
      [900, 100],
    ]);
  });

  it('reads absent weights as the Gateway API default of 1 each', async () => {
    server.seed([route(`${name}-default`, [[source(), target()]])]);
    expect((await driver(`${name}-default`).snapshot()).routes.reads).toEqual({ source: 0.5, target: 0.5 });
  });

  it('comes from the plan through the registry, in the source site context, and keeps the token out of messages', async () => {
    const plan = migration.parse({
      apiVersion: 'handoff.dev/v1alpha1',
      kind: 'Migration',
      metadata: { name: 'shop' },
      spec: {
        source: { platform: { kind: 'kubernetes', context: 'edge', namespace: 'shop', kubeconfig } },
        target: { platform: { kind: 'kubernetes', context: 'edge', namespace: 'shop-new', kubeconfig } },
        traffic: { router: { kind: 'gateway-api', route: name } },
      },
    });
    const redactor = createRedactor();
    const handle = await createTrafficRouterForPlan(plan.spec, {
      events: createEventBus(),
      logger: createSilentLogger(),
      resolveSecret: () => 'unused',
      redactor,
    });
    expect(handle.proxyUrl).toBeNull();
    await handle.router.setRoutes({ reads: { source: 0.95, target: 0.05 }, writes: { source: 0.95, target: 0.05 } });
    expect(weightsInCluster(name)).toEqual([
      [950, 50],
      [950, 50],
    ]);
    await handle.close();
    expect(redactor.redact(`Bearer ${TOKEN}`)).not.toContain(TOKEN);
  });
});
