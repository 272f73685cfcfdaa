/**
 * Fidelity of the Kubernetes API test server with @kubernetes/client-node, unchanged: typed APIs,
 * the generic object API with server-side apply, watch, and Status errors as the real server
 * sends them (bodies recorded from the Kubernetes API documentation).
 */
import path from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';
import { shopNamespace } from './fixtures.js';

let server: KubeTestServer;
let tmp: { dir: string; cleanup: () => void };
let config: KubeConfig;

beforeAll(async () => {
  tmp = makeTempDir();
  server = await startKubeTestServer({ readyDelayMs: 30 });
  const file = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(file, [{ name: 'test', url: server.url, insecureSkipTlsVerify: true }]);
  config = new KubeConfig();
  config.loadFromFile(file);
});

afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

/**
 * Shapes from the Kubernetes documentation (API conventions, "Response Status Kind"; API concepts,
 * "Efficient detection of changes"): the keys and values a client relies on.
 */
const recorded = {
  notFound: {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'pods "grafana" not found',
    reason: 'NotFound',
    details: { name: 'grafana', kind: 'pods' },
    code: 404,
  },
  watchEventKeys: ['object', 'type'],
};

async function raw(
  pathname: string,
  init: RequestInit = {},
): Promise<{ status: number; body: unknown; type: string | null }> {
  const response = await fetch(`${server.url}${pathname}`, init);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as unknown,
  };
}

describe('@kubernetes/client-node against the Kubernetes API test server', () => {
  it('creates and reads through the typed APIs', async () => {
    const core = config.makeApiClient(CoreV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    const deployment = shopNamespace().find((o) => o.kind === 'Deployment');
    await apps.createNamespacedDeployment({ namespace: 'shop', body: deployment as never });
    const list = await apps.listNamespacedDeployment({ namespace: 'shop' });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['web']);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toContain('shop');
    expect(namespaces.items.find((n) => n.metadata?.name === 'shop')?.status?.phase).toBe('Active');
  });

  it('applies server-side through the generic object API and converges', async () => {
    const objects = KubernetesObjectApi.makeApiClient(config);
    const cm: KubernetesObject & { data: Record<string, string> } = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop' },
      data: { a: '1' },
    };
    const first = await objects.patch(cm, undefined, undefined, 'handoff-test', true, PatchStrategy.ServerSideApply);
    const second = await objects.patch(cm, undefined, undefined, 'handoff-test', true, PatchStrategy.ServerSideApply);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const read = await objects.read({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'shop' },
    });
    expect((read as { data?: Record<string, string> }).data).toEqual({ a: '1' });
  });

  it('streams watch events until the Deployment is Available', async () => {
    const watch = new Watch(config);
    const seen: string[] = [];
    const available = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Available event within 10 s')), 10_000);
      void watch
        .watch(
          '/apis/apps/v1/namespaces/shop/deployments',
          { fieldSelector: 'metadata.name=web' },
          (type, object: { status?: { conditions?: Array<{ type: string; status: string }> } }) => {
            seen.push(type);
            if (object.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True')) {
              clearTimeout(timer);
              resolve(true);
            }
          },
          (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : undefined),
        )
        .then((controller) => setTimeout(() => controller.abort(), 10_000).unref());
    });
    expect(available).toBe(true);
    expect(seen[0]).toBe('ADDED');
  });

  it('answers errors with Status bodies shaped like the documented ones', async () => {
    const missing = await raw('/api/v1/namespaces/default/pods/grafana');
    expect(missing.status).toBe(404);
    expect(missing.type).toBe('application/json');
    expect(missing.body).toEqual(recorded.notFound);
    const conflict = await raw('/api/v1/namespaces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'shop' } }),
    });
    expect(conflict.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "shop" already exists',
      reason: 'AlreadyExists',
      details: { name: 'shop', kind: 'namespaces' },
      code: 409,
    });
    const invalid = await raw('/apis/apps/v1/namespaces/shop/deployments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'Bad_Name' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'c' } }, spec: { containers: [{ name: 'x', image: 'x' }] } },
        },
      }),
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      details: { name: 'Bad_Name', group: 'apps', kind: 'Deployment' },
    });
    const causes = (invalid.body as { details: { causes: Array<{ field: string }> } }).details.causes.map(
      (c) => c.field,
    );
    expect(causes).toEqual(['metadata.name', 'spec.template.metadata.labels']);
  });

  it('refuses a watch from a resourceVersion older than its history with 410 Expired', async () => {
    for (let i = 0; i < 5100; i += 1)
      server.store.put(server.catalog.find('', 'v1', 'configmaps') as never, {
        metadata: { name: `churn-${i % 3}`, namespace: 'shop' },
      });
    const response = await fetch(`${server.url}/api/v1/namespaces/shop/configmaps?watch=1&resourceVersion=101`);
    const line = JSON.parse((await response.text()).trim().split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(Object.keys(line).sort()).toEqual(recorded.watchEventKeys);
    expect(line).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 },
    });
  });
});
