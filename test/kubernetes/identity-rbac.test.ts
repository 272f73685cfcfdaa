/**
 * Issue 16 (Kubernetes side) between an EKS-like and a GKE-like API test server: ServiceAccounts
 * with IRSA annotations move to GKE Workload Identity by one pattern rule (export and provision
 * carry the translated annotation, each change with its rule); an identity no rule maps is a
 * blocker; a RoleBinding in another namespace granting to an exported ServiceAccount is in the
 * closure while its stale token Secret is not; an aggregated ClusterRole the target does not feed
 * is reported as k8s.rbac-drift with its verbs and resources; `handoff export` writes the cloud-side
 * review (GKE IAM binding).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Finding } from '../../src/common/findings.js';
import { createLogger } from '../../src/common/logger.js';
import type { IdentityRule } from '../../src/platforms/kubernetes/identity-rules.js';
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import { runCli } from '../support/cli.js';
import { dig, planDocument, planFor, platformContext, startPair, type ClusterPair } from './clusters.js';
import { ECR, GAR, shopNamespace, sourceClusterObjects, targetClusterObjects } from './fixtures.js';

type Obj = Record<string, unknown>;

const RBAC = 'rbac.authorization.k8s.io/v1';
const rule = {
  from: { provider: 'aws', pattern: 'arn:aws:iam::123456789012:role/shop-(?<name>[a-z-]+)' },
  to: { provider: 'gcp', identity: 'shop-$<name>@acme-prod.iam.gserviceaccount.com' },
} as const;
const transforms = {
  storageClasses: { gp3: 'premium-rwo' },
  ingressClasses: { alb: 'gce' },
  images: { [ECR]: GAR },
  identities: [rule],
};

/** `view` aggregating every ClusterRole labelled for it, as the built-in one does. */
const view = (): Obj => ({
  apiVersion: RBAC,
  kind: 'ClusterRole',
  metadata: { name: 'view' },
  aggregationRule: {
    clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }],
  },
  rules: [],
});
const podsView: Obj = {
  apiVersion: RBAC,
  kind: 'ClusterRole',
  metadata: { name: 'pods-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
  rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
};
/** Installed on the source by the widgets operator only. */
const widgetsView: Obj = {
  apiVersion: RBAC,
  kind: 'ClusterRole',
  metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
  rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] }],
};

/** The shop namespace with a stale token Secret on `web`, plus a `monitoring` namespace whose RoleBinding grants `view` to shop/web. */
function sourceObjects(extra: Obj[] = []): Obj[] {
  const shop = shopNamespace().map((o) =>
    o.kind === 'ServiceAccount' ? { ...o, secrets: [{ name: 'web-token-x7k2p' }] } : o,
  );
  return [
    ...sourceClusterObjects,
    view(),
    podsView,
    widgetsView,
    ...shop,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'web-token-x7k2p',
        namespace: 'shop',
        annotations: { 'kubernetes.io/service-account.name': 'web' },
      },
      type: 'kubernetes.io/service-account-token',
      data: { token: Buffer.from('stale-token-of-the-old-cluster').toString('base64') },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'shop-web-view', namespace: 'monitoring' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }],
    },
    {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'shop-accounts-view-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pods-view' },
      subjects: [{ kind: 'Group', name: 'system:serviceaccounts:shop', apiGroup: 'rbac.authorization.k8s.io' }],
    },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'someone-else', namespace: 'monitoring' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
    },
    ...extra,
  ];
}

/** A Deployment (app: shop) running as `account`, which carries `roleArn`. */
function workloadWithIdentity(account: string, roleArn: string): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: account, namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': roleArn } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: account, namespace: 'shop', labels: { app: 'shop' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'shop', tier: account } },
        template: {
          metadata: { labels: { app: 'shop', tier: account } },
          spec: {
            serviceAccountName: account,
            containers: [
              {
                name: 'main',
                image: `${ECR}shop/${account}:1`,
                resources: { requests: { cpu: '10m', memory: '16Mi' } },
              },
            ],
          },
        },
      },
    },
  ];
}

const byId = (findings: Finding[], id: string): Finding[] => findings.filter((f) => f.id === id);

describe('workload identity and RBAC across clusters', () => {
  let pair: ClusterPair;

  beforeAll(async () => {
    pair = await startPair({
      sourceObjects: sourceObjects(workloadWithIdentity('worker', 'arn:aws:iam::123456789012:role/shop-worker')),
      // The target's view aggregates what its own operators label; no widgets operator there.
      targetObjects: [...targetClusterObjects, view(), podsView],
    });
  });

  afterAll(async () => {
    await pair?.close();
  });

  it('export: IRSA annotations become GKE ones by the rule, the other-namespace RoleBinding is in, the token Secret out, the IAM bindings written for review', async () => {
    const file = path.join(pair.dir, 'identity-plan.yaml');
    fs.writeFileSync(file, stringify(planDocument(pair, { selector: { app: 'shop' }, transforms })));
    const out = path.join(pair.dir, 'export');
    const result = await runCli(['export', '-f', file, '--out', out, '-o', 'json'], { cwd: pair.dir });
    expect(result.stderr).not.toContain('Error');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      objects: Array<{ object: string; file: string }>;
      leftOut: Array<{ object: string; reason: string }>;
      changes: Array<{ object: string; rule: string; path: string; from?: unknown; to?: unknown }>;
      cloudIdentity: { entries: Array<{ serviceAccount: string; rule: string; to: string; commands: string[] }> };
    };
    const objects = summary.objects.map((o) => o.object);
    expect(objects).toEqual(
      expect.arrayContaining([
        'rbac.authorization.k8s.io/v1 RoleBinding monitoring/shop-web-view',
        // Grants to every ServiceAccount of the namespace, through its group.
        'rbac.authorization.k8s.io/v1 ClusterRoleBinding shop-accounts-view-pods',
        'v1 Namespace monitoring',
        'v1 ServiceAccount shop/web',
        'v1 ServiceAccount shop/worker',
      ]),
    );
    // A binding in that namespace that grants to someone else is not ours to move.
    expect(objects).not.toContain('rbac.authorization.k8s.io/v1 RoleBinding monitoring/someone-else');
    expect(summary.leftOut).toContainEqual({
      object: 'v1 Secret shop/web-token-x7k2p',
      reason: 'a generated service account token; the target issues its own',
    });
    expect(objects).not.toContain('v1 Secret shop/web-token-x7k2p');
    for (const [account, gsa] of [
      ['web', 'shop-web@acme-prod.iam.gserviceaccount.com'],
      ['worker', 'shop-worker@acme-prod.iam.gserviceaccount.com'],
    ] as const) {
      const entry = summary.objects.find((o) => o.object === `v1 ServiceAccount shop/${account}`);
      const manifest = parse(fs.readFileSync(path.join(out, entry?.file ?? 'missing'), 'utf8')) as Obj;
      expect(dig(manifest, 'metadata', 'annotations')).toEqual({ 'iam.gke.io/gcp-service-account': gsa });
      expect(manifest.secrets).toBeUndefined();
      expect(summary.changes).toContainEqual({
        object: `v1 ServiceAccount shop/${account}`,
        rule: 'identities[0]',
        path: '/metadata/annotations/iam.gke.io~1gcp-service-account',
        to: gsa,
      });
      expect(summary.changes).toContainEqual({
        object: `v1 ServiceAccount shop/${account}`,
        rule: 'identities[0]',
        path: '/metadata/annotations/eks.amazonaws.com~1role-arn',
        from: `arn:aws:iam::123456789012:role/shop-${account}`,
      });
    }
    const commands = fs.readFileSync(path.join(out, 'identity', 'commands.sh'), 'utf8');
    expect(commands).toContain(
      "gcloud iam service-accounts add-iam-policy-binding 'shop-web@acme-prod.iam.gserviceaccount.com'",
    );
    expect(commands).toContain("--member='serviceAccount:acme-prod.svc.id.goog[shop/web]'");
    expect(commands).toContain("--member='serviceAccount:acme-prod.svc.id.goog[shop/worker]'");
    expect(commands).toContain('--role=roles/iam.workloadIdentityUser');
    expect(summary.cloudIdentity.entries.map((e) => [e.serviceAccount, e.rule])).toEqual([
      ['shop/web', 'spec.workloads.transforms.identities[0]'],
      ['shop/worker', 'spec.workloads.transforms.identities[0]'],
    ]);
    // Nothing was written to either cluster.
    expect(pair.source.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(pair.target.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('preflight: the mapped identities are info, the RBAC the target would not grant is k8s.rbac-drift with verbs and resources', async () => {
    const plan = planFor(pair, { selector: { app: 'shop' }, transforms });
    const platform = createKubernetesPlatform({ site: 'target', plan }, { redactor: pair.redactor });
    const findings = await platform.preflight(platformContext('run-identity'));
    expect(byId(findings, 'k8s.identity-unmapped')).toEqual([]);
    expect(byId(findings, 'k8s.identity-mapped').map((f) => f.message)).toEqual([
      expect.stringContaining(
        'aws identity arn:aws:iam::123456789012:role/shop-web of web becomes gcp identity shop-web@acme-prod.iam.gserviceaccount.com (spec.workloads.transforms.identities[0])',
      ),
      expect.stringContaining('shop-worker@acme-prod.iam.gserviceaccount.com'),
    ]);
    const drift = byId(findings, 'k8s.rbac-drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ severity: 'blocker', subject: 'v1 ServiceAccount shop/web' });
    // The source's view holds widgets-view (aggregated); the target's does not. Pods are in both.
    expect(drift[0]?.message).toContain(
      'the target would not grant get, list, watch widgets.example.com in monitoring',
    );
    expect(drift[0]?.message).not.toContain('pods');
    expect(findings.filter((f) => f.severity === 'blocker').map((f) => f.id)).toEqual(['k8s.rbac-drift']);
  });

  it('provision applies the translated ServiceAccounts and the other-namespace RoleBinding to the target', async () => {
    const plan = planFor(pair, { selector: { app: 'shop' }, transforms });
    const platform = createKubernetesPlatform(
      { site: 'target', plan, readyTimeoutMs: 20_000 },
      { redactor: pair.redactor },
    );
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', redactor: pair.redactor, write: (line) => void lines.push(line) });
    await platform.provision({ runId: 'run-identity', logger });
    const logged = lines
      .map((line) => JSON.parse(line) as { msg?: string; changes?: Array<Record<string, unknown>> })
      .find((entry) => entry.msg === 'mapped the workload identities for the target');
    expect(logged?.changes).toContainEqual({
      object: 'v1 ServiceAccount shop/worker',
      rule: 'identities[0]',
      path: '/metadata/annotations/iam.gke.io~1gcp-service-account',
      to: 'shop-worker@acme-prod.iam.gserviceaccount.com',
    });
    for (const account of ['web', 'worker']) {
      const live = pair.target.read('v1', 'ServiceAccount', account, 'shop');
      expect(dig(live, 'metadata', 'annotations')).toEqual({
        'iam.gke.io/gcp-service-account': `shop-${account}@acme-prod.iam.gserviceaccount.com`,
      });
    }
    const binding = pair.target.read(RBAC, 'RoleBinding', 'shop-web-view', 'monitoring');
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }]);
    expect(pair.target.read('v1', 'Secret', 'web-token-x7k2p', 'shop')).toBeUndefined();
    // With the widgets operator's role installed on the target, the grants are equal.
    pair.target.seed([widgetsView]);
    const findings = await platform.preflight(platformContext('run-identity'));
    expect(byId(findings, 'k8s.rbac-drift')).toEqual([]);
  });
});

describe('identities no rule maps, and EKS Pod Identity', () => {
  let pair: ClusterPair | undefined;

  afterAll(async () => {
    await pair?.close();
  });

  it('blocks an IRSA ServiceAccount no rule maps (k8s.identity-unmapped) and warns that the source runs the Pod Identity agent', async () => {
    pair = await startPair({
      sourceObjects: sourceObjects([
        ...workloadWithIdentity('legacy', 'arn:aws:iam::999999999999:role/legacy-batch'),
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'eks-pod-identity-agent', namespace: 'kube-system' },
          spec: {
            selector: { matchLabels: { app: 'eks-pod-identity-agent' } },
            template: {
              metadata: { labels: { app: 'eks-pod-identity-agent' } },
              spec: { containers: [{ name: 'agent', image: 'eks/eks-pod-identity-agent:0.1' }] },
            },
          },
        },
      ]),
      targetObjects: [...targetClusterObjects, view(), podsView, widgetsView],
    });
    const plan = planFor(pair, { selector: { app: 'shop' }, transforms });
    const platform = createKubernetesPlatform({ site: 'target', plan }, { redactor: pair.redactor });
    const findings = await platform.preflight(platformContext('run-unmapped'));
    expect(byId(findings, 'k8s.identity-unmapped')).toEqual([
      expect.objectContaining({ severity: 'blocker', subject: 'v1 ServiceAccount shop/legacy' }),
    ]);
    expect(byId(findings, 'k8s.identity-unmapped')[0]?.message).toContain(
      'arn:aws:iam::999999999999:role/legacy-batch',
    );
    expect(byId(findings, 'k8s.identity-pod-identity')).toEqual([
      expect.objectContaining({ severity: 'warning', subject: 'source' }),
    ]);
    expect(byId(findings, 'k8s.identity-pod-identity')[0]?.message).toContain('eks-pod-identity-agent');
    expect(findings.filter((f) => f.severity === 'blocker').map((f) => f.id)).toEqual(['k8s.identity-unmapped']);
    // Removing the annotation with a patch is the plan's decision, not an unmapped identity.
    const patched = planFor(pair, {
      selector: { app: 'shop' },
      transforms: {
        ...transforms,
        patches: [
          {
            match: { kind: 'ServiceAccount', name: 'legacy' },
            patch: [{ op: 'remove', path: '/metadata/annotations/eks.amazonaws.com~1role-arn' }],
          },
        ],
      },
    });
    const after = await createKubernetesPlatform(
      { site: 'target', plan: patched },
      { redactor: pair.redactor },
    ).preflight(platformContext('run-unmapped'));
    expect(byId(after, 'k8s.identity-unmapped')).toEqual([]);
    expect(byId(after, 'k8s.identity-mapped').map((f) => f.message)).toContainEqual(
      expect.stringContaining(
        'arn:aws:iam::999999999999:role/legacy-batch of legacy is removed by spec.workloads.transforms',
      ),
    );
  });
});

describe('Azure and AWS targets', () => {
  let pair: ClusterPair;
  const issuer = 'https://oidc.target.example/id/5C1D';
  const clientId = 'c0ffee00-0000-4000-8000-000000000001';
  const azureTransforms = {
    ...transforms,
    identities: [
      {
        from: { provider: 'aws', pattern: 'arn:aws:iam::123456789012:role/(shop-web|batch-\\d+)' },
        to: { provider: 'azure', identity: clientId, tenantId: 'tenant-1' },
      },
      {
        from: { provider: 'aws', exact: 'arn:aws:iam::123456789012:role/shop-worker' },
        to: { provider: 'aws', identity: 'arn:aws:iam::222222222222:role/shop-worker-new' },
      },
    ] as IdentityRule[],
  };
  const batch = (count: number): Obj[] =>
    Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: `batch-${String(i).padStart(2, '0')}`,
        namespace: 'shop',
        labels: { app: 'shop' },
        annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::123456789012:role/batch-${i}` },
      },
    }));

  beforeAll(async () => {
    pair = await startPair({
      sourceObjects: sourceObjects([
        ...workloadWithIdentity('worker', 'arn:aws:iam::123456789012:role/shop-worker'),
        ...batch(20),
      ]),
      target: { issuer },
      targetObjects: [...targetClusterObjects, view(), podsView, widgetsView],
    });
  });

  afterAll(async () => {
    await pair?.close();
  });

  it('blocks an Azure identity that would need more than 20 federated credentials (k8s.identity-federation-limit)', async () => {
    const plan = planFor(pair, { selector: { app: 'shop' }, transforms: azureTransforms });
    const platform = createKubernetesPlatform({ site: 'target', plan }, { redactor: pair.redactor });
    const findings = await platform.preflight(platformContext('run-azure'));
    expect(byId(findings, 'k8s.identity-federation-limit')).toEqual([
      expect.objectContaining({ severity: 'blocker', subject: `Azure identity ${clientId}` }),
    ]);
    // web and batch-00..19: 21 ServiceAccounts, one credential each for the target's issuer.
    expect(byId(findings, 'k8s.identity-federation-limit')[0]?.message).toContain(
      'would need 21 federated credentials',
    );
    // Twenty is allowed: batch-00..19 on the Azure identity, web elsewhere.
    const fewer = planFor(pair, {
      selector: { app: 'shop' },
      transforms: {
        ...azureTransforms,
        identities: [
          {
            ...azureTransforms.identities[0]!,
            from: { provider: 'aws', pattern: 'arn:aws:iam::123456789012:role/batch-\\d+' },
          },
          ...azureTransforms.identities.slice(1),
          {
            from: { provider: 'aws', pattern: '.*' },
            to: { provider: 'gcp', identity: 'other@acme-prod.iam.gserviceaccount.com' },
          },
        ],
      },
    });
    const allowed = await createKubernetesPlatform(
      { site: 'target', plan: fewer },
      { redactor: pair.redactor },
    ).preflight(platformContext('run-azure'));
    expect(byId(allowed, 'k8s.identity-federation-limit')).toEqual([]);
  });

  it("export writes the Azure federated credential and the AWS trust statement for the target's OIDC issuer, and labels Azure pods", async () => {
    const file = path.join(pair.dir, 'azure-plan.yaml');
    fs.writeFileSync(file, stringify(planDocument(pair, { selector: { app: 'shop' }, transforms: azureTransforms })));
    const out = path.join(pair.dir, 'export-azure');
    const result = await runCli(['export', '-f', file, '--out', out, '-o', 'json'], { cwd: pair.dir });
    expect(result.code).toBe(0);
    const credential = JSON.parse(
      fs.readFileSync(path.join(out, 'identity', 'azure-federated-credential-shop-web.json'), 'utf8'),
    ) as Obj;
    expect(credential).toMatchObject({
      issuer,
      subject: 'system:serviceaccount:shop:web',
      audiences: ['api://AzureADTokenExchange'],
    });
    const statement = JSON.parse(
      fs.readFileSync(path.join(out, 'identity', 'aws-trust-statement-shop-worker.json'), 'utf8'),
    ) as Obj;
    expect(statement).toEqual({
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::222222222222:oidc-provider/oidc.target.example/id/5C1D' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          'oidc.target.example/id/5C1D:sub': 'system:serviceaccount:shop:worker',
          'oidc.target.example/id/5C1D:aud': 'sts.amazonaws.com',
        },
      },
    });
    const commands = fs.readFileSync(path.join(out, 'identity', 'commands.sh'), 'utf8');
    expect(commands).toContain(`--issuer '${issuer}' --subject 'system:serviceaccount:shop:web'`);
    expect(commands).toContain("aws iam update-assume-role-policy --role-name 'shop-worker-new'");
    const summary = JSON.parse(result.stdout) as { objects: Array<{ object: string; file: string }> };
    const web = summary.objects.find((o) => o.object === 'apps/v1 Deployment shop/web');
    const manifest = parse(fs.readFileSync(path.join(out, web?.file ?? 'missing'), 'utf8')) as Obj;
    expect(dig(manifest, 'spec', 'template', 'metadata', 'labels', 'azure.workload.identity/use')).toBe('true');
    const account = summary.objects.find((o) => o.object === 'v1 ServiceAccount shop/web');
    const sa = parse(fs.readFileSync(path.join(out, account?.file ?? 'missing'), 'utf8')) as Obj;
    expect(dig(sa, 'metadata', 'annotations')).toEqual({
      'azure.workload.identity/client-id': clientId,
      'azure.workload.identity/tenant-id': 'tenant-1',
    });
  });
});
