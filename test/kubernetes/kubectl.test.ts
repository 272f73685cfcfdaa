/**
 * Fidelity of the Kubernetes API test server, checked with the real kubectl: apply (client side
 * and server side), get, wait, replace with a stale resourceVersion, delete, custom resources.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl as run, type KubectlResult } from '../support/kube/kubectl.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';
import { shopNamespace, sourceClusterObjects } from './fixtures.js';

let server: KubeTestServer;
let tmp: { dir: string; cleanup: () => void };
let kubeconfig: string;

const k = (args: string[], input?: string): Promise<KubectlResult> =>
  run(args, { kubeconfig, cacheDir: path.join(tmp.dir, 'cache'), ...(input === undefined ? {} : { input }) });
/** Reads a path from parsed kubectl output (`dig(o, 'spec', 'replicas')`). */
function dig(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
const parse = (text: string): unknown => JSON.parse(text) as unknown;
const yamlOf = (objects: unknown[]): string => objects.map((o) => stringify(o)).join('---\n');

beforeAll(async () => {
  tmp = makeTempDir();
  server = await startKubeTestServer({ readyDelayMs: 50 });
  kubeconfig = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, [{ name: 'test', url: server.url }]);
});

afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('kubectl against the Kubernetes API test server', () => {
  it('applies the whole namespace client-side, then reports it unchanged on a second apply', async () => {
    // As against a real cluster, a CRD must be established before its custom resources apply.
    const cluster = await k(['apply', '-f', '-'], yamlOf(sourceClusterObjects));
    expect(cluster.stderr).toBe('');
    expect(cluster.code).toBe(0);
    expect((await k(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s'])).code).toBe(0);
    const manifests = yamlOf(shopNamespace());
    const first = await k(['apply', '-f', '-'], manifests);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('deployment.apps/web created');
    expect(first.stdout).toContain('statefulset.apps/db created');
    expect(first.stdout).toContain('widget.example.com/orders-widget created');
    const second = await k(['apply', '-f', '-'], manifests);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('deployment.apps/web unchanged');
    // kubectl always sends a StatefulSet's volumeClaimTemplates (the server defaults them), so it
    // prints "configured" as against a real cluster; the server sees no change to the spec.
    expect(second.stdout.split('\n').filter((line) => line.endsWith('configured'))).toEqual([
      'statefulset.apps/db configured',
    ]);
    expect(server.read('apps/v1', 'StatefulSet', 'db', 'shop')?.metadata.generation).toBe(1);
    expect(server.read('apps/v1', 'Deployment', 'web', 'shop')?.metadata.generation).toBe(1);
  });

  it('gets objects as JSON with defaults the server filled in', async () => {
    const result = await k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']);
    expect(result.code).toBe(0);
    const deployment = parse(result.stdout);
    expect(dig(deployment, 'kind')).toBe('Deployment');
    expect(dig(deployment, 'metadata', 'uid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(dig(deployment, 'spec', 'strategy', 'type')).toBe('RollingUpdate');
    expect(dig(deployment, 'spec', 'template', 'spec', 'containers', 0, 'imagePullPolicy')).toBe('IfNotPresent');
    const service = parse((await k(['get', 'svc', 'web', '-n', 'shop', '-o', 'json'])).stdout);
    expect(dig(service, 'spec', 'clusterIP')).toMatch(/^10\.96\./);
  });

  it('waits for Deployments to become Available and StatefulSet claims to bind', async () => {
    const wait = await k(['wait', '--for=condition=Available', 'deployment/web', '-n', 'shop', '--timeout=20s']);
    expect(wait.stderr).toBe('');
    expect(wait.stdout).toContain('condition met');
    const ready = await k([
      'wait',
      '--for=jsonpath={.status.readyReplicas}=1',
      'statefulset/db',
      '-n',
      'shop',
      '--timeout=20s',
    ]);
    expect(ready.code).toBe(0);
    const pvc = parse((await k(['get', 'pvc', 'data-db-0', '-n', 'shop', '-o', 'json'])).stdout);
    expect(dig(pvc, 'status', 'phase')).toBe('Bound');
    expect(dig(pvc, 'spec', 'storageClassName')).toBe('gp3');
  });

  it('times out a wait on a condition that never comes, with a non-zero exit', async () => {
    const result = await k(['wait', '--for=condition=Ready', 'widget/orders-widget', '-n', 'shop', '--timeout=1s']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('timed out');
  });

  it('selects by label and by field', async () => {
    const byLabel = await k(['get', 'deploy,sts,cronjob', '-n', 'shop', '-l', 'app=shop', '-o', 'name']);
    expect(byLabel.stdout.trim().split('\n').sort()).toEqual([
      'cronjob.batch/report',
      'deployment.apps/web',
      'statefulset.apps/db',
    ]);
    const byField = await k(['get', 'cm', '-n', 'shop', '--field-selector', 'metadata.name=web-config', '-o', 'name']);
    expect(byField.stdout.trim()).toBe('configmap/web-config');
    const notIn = await k(['get', 'cm', '-n', 'shop', '-l', 'app notin (shop)', '-o', 'name']);
    expect(notIn.stdout).toContain('configmap/unrelated');
  });

  it('applies server-side, reports a conflict with another manager, and takes the field with --force-conflicts', async () => {
    const deployment = shopNamespace().find((o) => o.kind === 'Deployment');
    const mine = structuredClone(deployment) as { spec: { replicas: number } };
    mine.spec.replicas = 3;
    const applied = await k(['apply', '--server-side', '--field-manager=team-a', '-f', '-'], yamlOf([mine]));
    expect(applied.stderr).toContain('conflict');
    expect(applied.stderr).toContain('.spec.replicas');
    expect(applied.code).not.toBe(0);
    const forced = await k(
      ['apply', '--server-side', '--field-manager=team-a', '--force-conflicts', '-f', '-'],
      yamlOf([mine]),
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('serverside-applied');
    const after = parse(
      (await k(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields'])).stdout,
    );
    expect(dig(after, 'spec', 'replicas')).toBe(3);
    const fields = dig(after, 'metadata', 'managedFields');
    const managers = (Array.isArray(fields) ? fields : []).map(
      (m) => `${String(dig(m, 'manager'))}/${String(dig(m, 'operation'))}`,
    );
    expect(managers).toContain('team-a/Apply');
  });

  it('scales through the scale subresource', async () => {
    const scaled = await k(['scale', 'statefulset/db', '-n', 'shop', '--replicas=2']);
    expect(scaled.stderr).toBe('');
    expect(scaled.stdout).toContain('statefulset.apps/db scaled');
    expect(dig(server.read('apps/v1', 'StatefulSet', 'db', 'shop'), 'spec', 'replicas')).toBe(2);
    const ready = await k([
      'wait',
      '--for=jsonpath={.status.readyReplicas}=2',
      'statefulset/db',
      '-n',
      'shop',
      '--timeout=20s',
    ]);
    expect(ready.code).toBe(0);
  });

  it('refuses a replace with a stale resourceVersion (409 Conflict)', async () => {
    const current = parse((await k(['get', 'cm', 'web-config', '-n', 'shop', '-o', 'json'])).stdout) as {
      data: Record<string, string>;
    };
    const stale = structuredClone(current);
    current.data.LOG_LEVEL = 'debug';
    expect((await k(['replace', '-f', '-'], JSON.stringify(current))).code).toBe(0);
    stale.data.LOG_LEVEL = 'warn';
    const result = await k(['replace', '-f', '-'], JSON.stringify(stale));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('deletes objects and their dependents, and reports NotFound afterwards', async () => {
    const deleted = await k(['delete', 'deployment', 'web', '-n', 'shop', '--timeout=20s']);
    expect(deleted.stdout).toContain('deployment.apps "web" deleted');
    const missing = await k(['get', 'deployment', 'web', '-n', 'shop']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
    const pods = await k(['get', 'pods', '-n', 'shop', '-l', 'tier=web', '-o', 'name']);
    expect(pods.stdout.trim()).toBe('');
  });

  it('serves custom resources only while their CRD exists', async () => {
    expect((await k(['get', 'widgets', '-n', 'shop', '-o', 'name'])).stdout.trim()).toBe(
      'widget.example.com/orders-widget',
    );
    expect((await k(['delete', 'crd', 'widgets.example.com'])).code).toBe(0);
    const gone = await k(['get', 'widgets.example.com', '-n', 'shop']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/doesn't have a resource type|the server could not find the requested resource/);
  });

  it('deletes a namespace with everything in it', async () => {
    const result = await k(['delete', 'namespace', 'shop', '--timeout=20s']);
    expect(result.code).toBe(0);
    expect(server.listKind('v1', 'ConfigMap', 'shop')).toEqual([]);
    expect(server.read('v1', 'Namespace', 'shop')).toBeUndefined();
  });
});
