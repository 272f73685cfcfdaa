/**
 * The namespace moves from an EKS-like test server to a GKE-like one: exported with its
 * dependency closure, translated (gp3 → premium-rwo, alb → gce, ECR → Artifact Registry, IRSA →
 * Workload Identity), applied with server-side apply; a second run changes nothing; teardown
 * removes only what was created.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_CREATED, LABEL_MIGRATION, LABEL_RUN } from '../../src/platforms/kubernetes/apply.js';
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import type { Platform } from '../../src/platforms/platform.js';
import { dig, planFor, platformContext, startPair, type ClusterPair } from './clusters.js';
import { GAR, SECRET_VALUE } from './fixtures.js';

let pair: ClusterPair;
let target: Platform;

const labelled = (): Array<{ key: string; rv: unknown }> =>
  pair.target.catalog
    .all()
    .filter((t, i, all) => all.findIndex((o) => o.group === t.group && o.plural === t.plural) === i)
    .flatMap((t) => pair.target.store.list(t))
    .filter((o) => (o.metadata.labels as Record<string, string> | undefined)?.[LABEL_MIGRATION] === 'shop-to-gke')
    .map((o) => ({
      key: `${String(o.kind)} ${o.metadata.namespace ?? ''}/${o.metadata.name}`,
      rv: o.metadata.resourceVersion,
    }))
    .sort((a, b) => a.key.localeCompare(b.key));

beforeAll(async () => {
  pair = await startPair();
  // The target namespace exists already (made by the platform team), with an object of its own.
  pair.target.seed([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'payments' } } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'team-settings', namespace: 'shop' },
      data: { owner: 'payments' },
    },
  ]);
  target = createKubernetesPlatform(
    { site: 'target', plan: planFor(pair), readyTimeoutMs: 20_000 },
    { redactor: pair.redactor },
  );
});

afterAll(async () => {
  await pair?.close();
});

describe('kubernetes platform: provision and teardown between two clusters', () => {
  it('finds no blocker between the clusters once the plan maps classes, images and identities', async () => {
    const findings = await target.preflight(platformContext('run-1'));
    expect(findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(findings.map((f) => f.id)).toContain('k8s.storage-class-mapped');
    expect(findings.map((f) => f.id)).toContain('k8s.identity-mapped');
  });

  it('applies the translated namespace and waits until it is ready', async () => {
    const result = await target.provision(platformContext('run-1'));
    expect(result.workloads.map((w) => [w.name, w.ready])).toEqual([
      ['apps/v1 Deployment shop/web', true],
      ['apps/v1 StatefulSet shop/db', true],
    ]);
    const t = pair.target;
    const deployment = t.read('apps/v1', 'Deployment', 'web', 'shop');
    expect(dig(deployment, 'spec', 'template', 'spec', 'containers', 0, 'image')).toBe(`${GAR}shop/web:1.4.2`);
    expect(dig(deployment, 'metadata', 'labels')).toMatchObject({
      app: 'shop',
      [LABEL_MIGRATION]: 'shop-to-gke',
      [LABEL_RUN]: 'run-1',
      [LABEL_CREATED]: 'true',
    });
    const sts = t.read('apps/v1', 'StatefulSet', 'db', 'shop');
    expect(dig(sts, 'spec', 'volumeClaimTemplates', 0, 'spec', 'storageClassName')).toBe('premium-rwo');
    expect(dig(t.read('v1', 'PersistentVolumeClaim', 'data-db-0', 'shop'), 'status', 'phase')).toBe('Bound');
    const ingress = t.read('networking.k8s.io/v1', 'Ingress', 'web', 'shop');
    expect(dig(ingress, 'spec', 'ingressClassName')).toBe('gce');
    expect(dig(ingress, 'metadata', 'annotations', 'alb.ingress.kubernetes.io/scheme')).toBeUndefined();
    const account = t.read('v1', 'ServiceAccount', 'web', 'shop');
    expect(dig(account, 'metadata', 'annotations')).toEqual({
      'iam.gke.io/gcp-service-account': 'shop-web@acme-prod.iam.gserviceaccount.com',
    });
    const secret = t.read('v1', 'Secret', 'web-secret', 'shop');
    expect(Buffer.from(String(dig(secret, 'data', 'password')), 'base64').toString()).toBe(SECRET_VALUE);
    expect(t.read('rbac.authorization.k8s.io/v1', 'RoleBinding', 'web-reader', 'shop')).toBeDefined();
    expect(t.read('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'shop-node-reader')).toBeDefined();
    expect(t.read('autoscaling/v2', 'HorizontalPodAutoscaler', 'web', 'shop')).toBeDefined();
    expect(t.read('batch/v1', 'CronJob', 'report', 'shop')).toBeDefined();
    expect(t.read('example.com/v1', 'Widget', 'orders-widget', 'shop')).toBeDefined();
    const clusterIP = dig(t.read('v1', 'Service', 'web', 'shop'), 'spec', 'clusterIP');
    expect(clusterIP).toMatch(/^10\.96\./);
    expect(clusterIP).not.toBe(dig(pair.source.read('v1', 'Service', 'web', 'shop'), 'spec', 'clusterIP'));
    // Not selected, not needed: stays behind.
    expect(t.read('v1', 'ConfigMap', 'unrelated', 'shop')).toBeUndefined();
    // Applied by handoff's field manager.
    const fields = dig(deployment, 'metadata', 'managedFields');
    const managers = (Array.isArray(fields) ? fields : []).map(
      (m) => `${String(dig(m, 'manager'))}/${String(dig(m, 'operation'))}`,
    );
    expect(managers).toContain('handoff/Apply');
    // The namespace existed: adopted, not marked created.
    const namespace = t.read('v1', 'Namespace', 'shop');
    expect(dig(namespace, 'metadata', 'labels', LABEL_CREATED)).toBeUndefined();
    expect(dig(namespace, 'metadata', 'labels', 'team')).toBe('payments');
  });

  it('registers the values of the Secrets it copies with the redactor', () => {
    expect(pair.redactor.redact(`error: Invalid value: "${SECRET_VALUE}"`)).not.toContain(SECRET_VALUE);
  });

  it('changes nothing when run again (a second run converges)', async () => {
    const before = labelled();
    expect(before.length).toBeGreaterThan(12);
    const result = await target.provision(platformContext('run-2'));
    expect(result.workloads.every((w) => w.ready)).toBe(true);
    expect(labelled()).toEqual(before);
  });

  it('tears down exactly what it created and leaves what existed before', async () => {
    await target.teardown(platformContext('run-2'));
    expect(labelled()).toEqual([]);
    const t = pair.target;
    expect(t.read('apps/v1', 'Deployment', 'web', 'shop')).toBeUndefined();
    expect(t.read('v1', 'Secret', 'web-secret', 'shop')).toBeUndefined();
    expect(t.read('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'shop-node-reader')).toBeUndefined();
    expect(t.read('example.com/v1', 'Widget', 'orders-widget', 'shop')).toBeUndefined();
    expect(dig(t.read('v1', 'Namespace', 'shop'), 'metadata', 'labels')).toEqual({
      team: 'payments',
      'kubernetes.io/metadata.name': 'shop',
    });
    expect(t.read('v1', 'ConfigMap', 'team-settings', 'shop')).toBeDefined();
    expect(t.read('storage.k8s.io/v1', 'StorageClass', 'premium-rwo')).toBeDefined();
    // A second teardown finds nothing to do.
    await target.teardown(platformContext('run-2'));
    expect(t.read('v1', 'ConfigMap', 'team-settings', 'shop')).toBeDefined();
  });
});
