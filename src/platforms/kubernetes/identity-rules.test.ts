import { describe, expect, it } from 'vitest';
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
