/**
 * Parity findings: each test builds one difference between two Kubernetes API test servers and
 * expects the finding with its stable id and severity; identical clusters give no blocker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/findings.js';
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import { legacyTypes } from '../support/kube/catalog.js';
import { fullTransforms, planFor, platformContext, startPair, type ClusterPair, type PairOptions } from './clusters.js';
import { crd, ECR, shopNamespace, sourceClusterObjects, targetClusterObjects } from './fixtures.js';

let pair: ClusterPair | undefined;

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

async function preflight(
  options: PairOptions,
  transforms: Record<string, unknown> | null = fullTransforms,
): Promise<Finding[]> {
  pair = await startPair(options);
  const plan = planFor(pair, { selector: { app: 'shop' }, ...(transforms ? { transforms } : {}) });
  const platform = createKubernetesPlatform({ site: 'target', plan }, { redactor: pair.redactor });
  return platform.preflight(platformContext('run-parity'));
}

const blockers = (findings: Finding[]): string[] =>
  findings
    .filter((f) => f.severity === 'blocker')
    .map((f) => f.id)
    .sort();
const find = (findings: Finding[], id: string): Finding | undefined => findings.find((f) => f.id === id);

describe('kubernetes parity', () => {
  it('finds no blocker between identical clusters', async () => {
    const findings = await preflight({ targetObjects: sourceClusterObjects }, null);
    expect(blockers(findings)).toEqual([]);
    // Same provider: the IRSA identity needs a trust update, which is a warning, not a blocker.
    expect(find(findings, 'k8s.identity-same-provider')?.severity).toBe('warning');
  });

  it('reports a CRD the target lacks as k8s.crd-missing (blocker)', async () => {
    const findings = await preflight({ targetObjects: targetClusterObjects.filter((o) => o !== crd) });
    expect(blockers(findings)).toEqual(['k8s.crd-missing']);
    expect(find(findings, 'k8s.crd-missing')).toMatchObject({ subject: 'widgets.example.com', severity: 'blocker' });
    expect(find(findings, 'k8s.crd-missing')?.message).toContain('Widget shop/orders-widget');
  });

  it('reports a StorageClass the target lacks and the plan does not map as k8s.storage-class-missing (blocker)', async () => {
    const { storageClasses: _dropped, ...rest } = fullTransforms;
    const findings = await preflight({}, rest);
    expect(blockers(findings)).toEqual(['k8s.storage-class-missing']);
    const finding = find(findings, 'k8s.storage-class-missing');
    expect(finding?.subject).toBe('StorageClass gp3');
    expect(finding?.remediation).toContain('premium-rwo');
  });

  it('reports an API version the target does not serve as k8s.api-not-served (blocker), naming what it serves', async () => {
    // A 1.20 source serves PodDisruptionBudget only as policy/v1beta1; the target only as policy/v1.
    const pdb = {
      apiVersion: 'policy/v1beta1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'shop' } },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'shop', tier: 'web' } } },
    };
    const findings = await preflight({
      source: {
        version: { major: '1', minor: '20' },
        resources: { drop: ['policy/v1'], add: legacyTypes.filter((t) => t.group === 'policy') },
      },
      sourceObjects: [...sourceClusterObjects, ...shopNamespace(), pdb],
    });
    expect(blockers(findings)).toEqual(['k8s.api-not-served']);
    const finding = find(findings, 'k8s.api-not-served');
    expect(finding?.subject).toBe('policy/v1beta1 PodDisruptionBudget');
    expect(finding?.message).toContain('it serves policy/v1');
    expect(find(findings, 'k8s.api-deprecated')?.severity).toBe('warning');
    expect(find(findings, 'k8s.version-skew')?.severity).toBe('warning');
  });

  it('reports a ResourceQuota the workloads would exceed as k8s.quota-exceeded (blocker)', async () => {
    const findings = await preflight({
      targetObjects: [
        ...targetClusterObjects,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'small', namespace: 'shop' },
          spec: { hard: { 'requests.cpu': '500m', pods: '10' } },
        },
      ],
    });
    expect(blockers(findings)).toEqual(['k8s.quota-exceeded']);
    const finding = find(findings, 'k8s.quota-exceeded');
    expect(finding?.subject).toBe('ResourceQuota shop/small');
    expect(finding?.message).toContain('requests.cpu 0.75');
  });

  it('reports a single-architecture image the target nodes cannot run as k8s.node-architecture (blocker)', async () => {
    const objects = shopNamespace().map((o) => {
      if (o.kind !== 'Deployment') return o;
      const copy = structuredClone(o) as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
      const container = copy.spec.template.spec.containers[0];
      if (container) container.image = `${ECR}shop/web:1.4.2-amd64`;
      return copy as unknown as Record<string, unknown>;
    });
    const findings = await preflight({
      sourceObjects: [...sourceClusterObjects, ...objects],
      target: { nodes: [{ name: 'arm-1', arch: 'arm64' }] },
    });
    expect(blockers(findings)).toEqual(['k8s.node-architecture']);
    expect(find(findings, 'k8s.node-architecture')?.message).toContain('amd64');
  });

  it('reports a cloud identity without a mapping as k8s.identity-unmapped (blocker)', async () => {
    const { serviceAccounts: _dropped, ...rest } = fullTransforms;
    const findings = await preflight({}, rest);
    expect(blockers(findings)).toEqual(['k8s.identity-unmapped']);
    expect(find(findings, 'k8s.identity-unmapped')?.subject).toBe('v1 ServiceAccount shop/web');
  });

  it('reports capacity the target nodes lack as k8s.capacity-insufficient (blocker)', async () => {
    const findings = await preflight({ target: { nodes: [{ name: 'tiny', cpu: '500m', memory: '1Gi' }] } });
    expect(blockers(findings)).toContain('k8s.capacity-insufficient');
  });

  it('warns about provider load balancer annotations left untranslated and NetworkPolicies', async () => {
    const { annotations: _dropped, ...rest } = fullTransforms;
    const findings = await preflight({}, rest);
    expect(find(findings, 'k8s.load-balancer-annotations')).toMatchObject({
      severity: 'warning',
      subject: 'v1 Service shop/web-public',
    });
    expect(find(findings, 'k8s.network-policies-present')?.severity).toBe('warning');
    expect(blockers(findings)).toEqual([]);
  });

  it('blocks when the selector picks nothing or the namespace is missing, instead of moving nothing', async () => {
    pair = await startPair();
    const p = pair;
    const nothing = createKubernetesPlatform(
      { site: 'target', plan: planFor(p, { selector: { app: 'typo' } }) },
      { redactor: p.redactor },
    );
    expect(blockers(await nothing.preflight(platformContext('run-parity')))).toEqual(['k8s.nothing-selected']);
    const missing = createKubernetesPlatform(
      {
        site: 'target',
        plan: planFor(p, { namespaces: ['shop', 'gone'], selector: { app: 'shop' }, transforms: fullTransforms }),
      },
      { redactor: p.redactor },
    );
    const findings = await missing.preflight(platformContext('run-parity'));
    expect(blockers(findings)).toEqual(['k8s.namespace-missing']);
    expect(find(findings, 'k8s.namespace-missing')?.subject).toBe('Namespace gone');
    await expect(nothing.provision(platformContext('run-parity'))).rejects.toThrow(
      'nothing on the source cluster eks matches spec.workloads.selector in shop',
    );
    expect(p.target.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('reports an unreachable cluster as k8s.unreachable (blocker) instead of failing', async () => {
    pair = await startPair();
    const plan = planFor(pair);
    await pair.target.close();
    const platform = createKubernetesPlatform(
      { site: 'target', plan, requestTimeoutMs: 2000 },
      { redactor: pair.redactor },
    );
    const findings = await platform.preflight(platformContext('run-parity'));
    expect(findings).toEqual([
      expect.objectContaining({ id: 'k8s.unreachable', severity: 'blocker', subject: 'target' }),
    ]);
  });
});
