/**
 * The dns driver against the Kubernetes API test server: one Service per site labelled
 * handoff.dev/site and annotated for external-dns (hostname, set-identifier, aws-weight); the
 * driver reads and writes the weight annotations through a kubeconfig context.
 */
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/common/events.js';
import { HandoffError } from '../../src/common/errors.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { migration } from '../../src/plan/schema.js';
import { createDnsRouter } from '../../src/traffic/dns/dns-router.js';
import { createTrafficRouterForPlan } from '../../src/traffic/registry.js';
import type { TrafficRouter } from '../../src/traffic/router.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';

const WEIGHT = 'external-dns.alpha.kubernetes.io/aws-weight';

let server: KubeTestServer;
let kubeconfig: string;
let cleanup: () => void;
let counter = 0;
let namespace: string;

beforeAll(async () => {
  const tmp = makeTempDir('handoff-dns-');
  cleanup = tmp.cleanup;
  server = await startKubeTestServer();
  kubeconfig = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, [{ name: 'edge', url: server.url }]);
});
afterAll(async () => {
  await server?.close();
  cleanup?.();
});

function service(name: string, site: string | undefined, annotations: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(site ? { labels: { 'handoff.dev/site': site } } : {}), annotations },
    spec: { type: 'ExternalName', externalName: `${name}.lb.example.net` },
  };
}

const record = (setIdentifier: string, weight?: number) => ({
  'external-dns.alpha.kubernetes.io/hostname': 'shop.example.com',
  'external-dns.alpha.kubernetes.io/set-identifier': setIdentifier,
  ...(weight === undefined ? {} : { [WEIGHT]: String(weight) }),
});

function replace(object: Record<string, unknown>): void {
  const type = server.catalog.byKind('v1', 'Service');
  const name = (object.metadata as { name: string }).name;
  if (type) server.store.remove(type, namespace, name);
  server.seed([object]);
}

const storedService = z.object({
  metadata: z.looseObject({ resourceVersion: z.string(), annotations: z.record(z.string(), z.string()).optional() }),
});

function weightOf(name: string): string | undefined {
  return storedService.parse(server.read('v1', 'Service', name, namespace)).metadata.annotations?.[WEIGHT];
}

function versions(): string[] {
  return ['web-eks', 'web-gke'].map(
    (name) => storedService.parse(server.read('v1', 'Service', name, namespace)).metadata.resourceVersion,
  );
}

function driver(): TrafficRouter {
  return createDnsRouter(
    { record: 'shop.example.com', namespace, context: 'edge', kubeconfig },
    { events: createEventBus(), logger: createSilentLogger(), redactor: createRedactor() },
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

describe('dns traffic driver', () => {
  beforeEach(() => {
    namespace = `shop-${++counter}`;
    server.seed([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      service('web-eks', 'source', record('eks', 200)),
      service('web-gke', 'target', record('gke', 0)),
      // Another record's Service, and an unlabelled one: neither is touched.
      service('admin', 'target', {
        ...record('admin', 7),
        'external-dns.alpha.kubernetes.io/hostname': 'admin.example.com',
      }),
      service('web-internal', undefined, record('internal', 3)),
    ]);
  });

  it('writes weights out of 200 into the aws-weight annotations and reads them back, half a percent as 1/200', async () => {
    const router = driver();
    expect((await router.snapshot()).routes.reads).toEqual({ source: 1, target: 0 });
    const result = await router.setRoutes({
      reads: { source: 0.995, target: 0.005 },
      writes: { source: 0.995, target: 0.005 },
    });
    expect(result.changed).toEqual(['reads', 'writes']);
    expect([weightOf('web-eks'), weightOf('web-gke')]).toEqual(['199', '1']);
    expect((await router.snapshot()).routes).toEqual({
      reads: { source: 0.995, target: 0.005 },
      writes: { source: 0.995, target: 0.005 },
    });
    await router.setRoutes({ reads: { target: 1 }, writes: { target: 1 } });
    expect([weightOf('web-eks'), weightOf('web-gke')]).toEqual(['0', '200']);
    expect([weightOf('admin'), weightOf('web-internal')]).toEqual(['7', '3']);
  });

  it('writes the Service gaining weight first, so the record never has every weight at 0', async () => {
    const router = driver();
    const from = server.requests.length;
    await router.setRoutes({ reads: { target: 1 }, writes: { target: 1 } });
    const patches = server.requests
      .slice(from)
      .filter((r) => r.method === 'PATCH')
      .map((r) => r.path.split('/').pop());
    expect(patches).toEqual(['web-gke', 'web-eks']);
  });

  it('changes nothing when the weights are already set, refuses split classes and hold', async () => {
    const router = driver();
    await router.setRoutes({ reads: { source: 0.75, target: 0.25 }, writes: { source: 0.75, target: 0.25 } });
    const before = versions();
    expect(
      (await router.setRoutes({ reads: { source: 0.75, target: 0.25 }, writes: { source: 0.75, target: 0.25 } }))
        .changed,
    ).toEqual([]);
    expect(versions()).toEqual(before);
    const split = await failure(router.setRoutes({ reads: { source: 0.5, target: 0.5 } }));
    expect(split.message).toContain('the dns driver cannot route reads and writes apart');
    const fine = await failure(
      router.setRoutes({ reads: { source: 0.999, target: 0.001 }, writes: { source: 0.999, target: 0.001 } }),
    );
    expect(fine.message).toContain('not a whole number of 1/200');
    const held = await failure(router.hold({ classes: ['writes'], maxHoldMs: 1000 }));
    expect(held.message).toBe('the dns driver cannot hold requests; the cutover refuses writes briefly instead');
    expect(versions()).toEqual(before);
  });

  it('says clearly when a site has no Service, or the Services are not weighted records', async () => {
    const type = server.catalog.byKind('v1', 'Service');
    if (type) server.store.remove(type, namespace, 'web-gke');
    const missing = await failure(driver().snapshot());
    expect(missing.message).toContain(
      `record shop.example.com (Services in namespace ${namespace} on context edge): no Service for site target`,
    );
    replace(service('web-gke', 'target', record('eks', 0)));
    expect((await failure(driver().snapshot())).message).toContain(
      'share a external-dns.alpha.kubernetes.io/set-identifier',
    );
    replace(service('web-gke', 'target', record('gke', 300)));
    expect((await failure(driver().snapshot())).message).toContain('a weight is an integer from 0 to 255');
  });

  it('comes from the plan through the registry, with the router context and namespace', async () => {
    const plan = migration.parse({
      apiVersion: 'handoff.dev/v1alpha1',
      kind: 'Migration',
      metadata: { name: 'shop' },
      spec: {
        source: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:1' },
        target: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:2' },
        traffic: { router: { kind: 'dns', record: 'shop.example.com', context: 'edge', namespace } },
      },
    });
    const previous = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      const handle = await createTrafficRouterForPlan(plan.spec, {
        events: createEventBus(),
        logger: createSilentLogger(),
        resolveSecret: () => 'unused',
      });
      await handle.router.setRoutes({ reads: { source: 0.5, target: 0.5 }, writes: { source: 0.5, target: 0.5 } });
      expect([weightOf('web-eks'), weightOf('web-gke')]).toEqual(['100', '100']);
      await handle.close();
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
    }
  });
});
