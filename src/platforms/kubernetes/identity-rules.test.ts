import { describe, expect, it } from 'vitest';
import { PlanError } from '../../common/errors.js';
import { loadPlanText } from '../../plan/load.js';
import { matchIdentity, type IdentityRule } from './identity-rules.js';
import { parseKubeObject, type KubeObject } from './objects.js';
import { transformObjects } from './transform.js';

const object = (value: Record<string, unknown>): KubeObject => parseKubeObject(value, 'test');

const rules: IdentityRule[] = [
  {
    from: { provider: 'aws', exact: 'arn:aws:iam::111:role/special' },
    to: { provider: 'gcp', identity: 'special@p.iam.gserviceaccount.com' },
  },
  {
    from: { provider: 'aws', pattern: 'arn:aws:iam::111:role/(.+)-(prod|stage)' },
    to: { provider: 'gcp', identity: '$1-$2@p.iam.gserviceaccount.com' },
  },
  {
    from: { provider: 'gcp', pattern: '(?<sa>[a-z-]+)@old\\.iam\\.gserviceaccount\\.com' },
    to: { provider: 'azure', identity: 'client-$<sa>', tenantId: 'tenant-1' },
  },
];

describe('matchIdentity', () => {
  it('takes the first matching rule, exact before pattern in rule order', () => {
    expect(matchIdentity(rules, { provider: 'aws', value: 'arn:aws:iam::111:role/special' })).toMatchObject({
      index: 0,
      identity: 'special@p.iam.gserviceaccount.com',
    });
  });

  it('substitutes numbered and named captures', () => {
    expect(matchIdentity(rules, { provider: 'aws', value: 'arn:aws:iam::111:role/orders-prod' })?.identity).toBe(
      'orders-prod@p.iam.gserviceaccount.com',
    );
    expect(matchIdentity(rules, { provider: 'gcp', value: 'billing@old.iam.gserviceaccount.com' })?.identity).toBe(
      'client-billing',
    );
  });

  it('matches the whole identity only, and only rules of its provider', () => {
    expect(matchIdentity(rules, { provider: 'aws', value: 'arn:aws:iam::111:role/orders-prod-old' })).toBeUndefined();
    expect(matchIdentity(rules, { provider: 'aws', value: 'xarn:aws:iam::111:role/orders-prod' })).toBeUndefined();
    expect(matchIdentity(rules, { provider: 'azure', value: 'arn:aws:iam::111:role/special' })).toBeUndefined();
  });
});

describe('transformObjects with identity rules', () => {
  const account = (name: string, annotations: Record<string, string>): KubeObject =>
    object({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'shop', annotations } });
  const deployment = object({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'shop' },
    spec: { template: { spec: { serviceAccountName: 'api', containers: [{ name: 'c', image: 'x' }] } } },
  });
  const cron = object({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: 'shop' },
    spec: {
      jobTemplate: {
        spec: {
          template: {
            metadata: { labels: { 'azure.workload.identity/use': 'true', job: 'nightly' } },
            spec: { serviceAccountName: 'nightly', containers: [{ name: 'c', image: 'x' }] },
          },
        },
      },
    },
  });

  it('to Azure: sets client and tenant ids, drops every annotation of the source provider, labels the pods that use it', () => {
    const toAzure: IdentityRule[] = [
      {
        from: { provider: 'aws', pattern: 'arn:aws:iam::111:role/(.+)' },
        to: { provider: 'azure', identity: 'cid-$1', tenantId: 't-1' },
      },
    ];
    const sa = account('api', {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111:role/api',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
      team: 'a',
    });
    const { objects, changes } = transformObjects([sa, deployment], {
      transforms: { identities: toAzure },
      namespaces: { shop: 'shop-new' },
    });
    expect(objects[0]?.metadata.annotations).toEqual({
      team: 'a',
      'azure.workload.identity/client-id': 'cid-api',
      'azure.workload.identity/tenant-id': 't-1',
    });
    expect(objects[1]?.spec).toMatchObject({
      template: { metadata: { labels: { 'azure.workload.identity/use': 'true' } } },
    });
    expect(changes.filter((c) => c.rule === 'identities[0]').map((c) => [c.object, c.path])).toEqual([
      ['v1 ServiceAccount shop/api', '/metadata/annotations/eks.amazonaws.com~1role-arn'],
      ['v1 ServiceAccount shop/api', '/metadata/annotations/eks.amazonaws.com~1sts-regional-endpoints'],
      ['v1 ServiceAccount shop/api', '/metadata/annotations/azure.workload.identity~1client-id'],
      ['v1 ServiceAccount shop/api', '/metadata/annotations/azure.workload.identity~1tenant-id'],
      ['apps/v1 Deployment shop/api', '/spec/template/metadata/labels/azure.workload.identity~1use'],
    ]);
  });

  it('from Azure: removes the pod label Azure needed; an explicit serviceAccounts entry wins over a rule', () => {
    const fromAzure: IdentityRule[] = [
      { from: { provider: 'azure', pattern: '.*' }, to: { provider: 'gcp', identity: 'n@p.iam.gserviceaccount.com' } },
    ];
    const nightly = account('nightly', { 'azure.workload.identity/client-id': 'c-1' });
    const api = account('api', { 'azure.workload.identity/client-id': 'c-2' });
    const { objects, changes } = transformObjects([nightly, cron, api, deployment], {
      transforms: {
        identities: fromAzure,
        serviceAccounts: { api: { 'iam.gke.io/gcp-service-account': 'explicit@p.iam.gserviceaccount.com' } },
      },
    });
    expect(objects[0]?.metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'n@p.iam.gserviceaccount.com',
    });
    expect(objects[1]?.spec).toMatchObject({
      jobTemplate: { spec: { template: { metadata: { labels: { job: 'nightly' } } } } },
    });
    expect(changes).toContainEqual({
      object: 'batch/v1 CronJob shop/nightly',
      rule: 'identities[0]',
      path: '/spec/jobTemplate/spec/template/metadata/labels/azure.workload.identity~1use',
      from: 'true',
    });
    expect(objects[2]?.metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'explicit@p.iam.gserviceaccount.com',
    });
    expect(changes.filter((c) => c.object === 'v1 ServiceAccount shop/api').map((c) => c.rule)).toEqual([
      'serviceAccounts.api',
      'serviceAccounts.api',
    ]);
  });
});

describe('identity rules in the plan', () => {
  it('refuses an invalid pattern, both or neither of exact and pattern, and an unknown provider, each at its line', () => {
    const text = [
      'apiVersion: handoff.dev/v1alpha1',
      'kind: Migration',
      'metadata: { name: shop }',
      'spec:',
      '  source: { platform: { kind: kubernetes, context: eks, namespace: shop } }',
      '  target: { platform: { kind: kubernetes, context: gke, namespace: shop } }',
      '  workloads:',
      '    transforms:',
      '      identities:',
      "        - from: { provider: aws, pattern: 'arn:(unclosed' }",
      '          to: { provider: gcp, identity: x }',
      '        - from: { provider: aws, exact: a, pattern: b }',
      '          to: { provider: gcp, identity: x }',
      '        - from: { provider: ibm, exact: a }',
      '          to: { provider: gcp, identity: x }',
      '',
    ].join('\n');
    let error: unknown;
    try {
      loadPlanText(text, 'plan.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [10, 'spec.workloads.transforms.identities[0].from.pattern', 'not a valid regular expression'],
      [12, 'spec.workloads.transforms.identities[1].from', 'give exactly one of exact and pattern'],
      [14, 'spec.workloads.transforms.identities[2].from.provider', '"ibm" is not one of: aws, gcp, azure'],
    ]);
  });
});
