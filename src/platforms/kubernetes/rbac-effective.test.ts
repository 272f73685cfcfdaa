import { describe, expect, it } from 'vitest';
import { parseKubeObject, type KubeObject } from './objects.js';
import { describePermissions, effectivePermissions, notCovered } from './rbac-effective.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
const o = (value: Record<string, unknown>): KubeObject => parseKubeObject(value, 'test');
const clusterRole = (name: string, { labels, ...body }: Record<string, unknown>): KubeObject =>
  o({ apiVersion: RBAC, kind: 'ClusterRole', metadata: { name, ...(labels ? { labels } : {}) }, ...body });
const binding = (
  kind: 'RoleBinding' | 'ClusterRoleBinding',
  name: string,
  role: [string, string],
  subjects: unknown[],
  namespace?: string,
): KubeObject =>
  o({
    apiVersion: RBAC,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role[0], name: role[1] },
    subjects,
  });
const sa = (name: string, namespace: string) => ({ kind: 'ServiceAccount', name, namespace });

describe('effectivePermissions', () => {
  it('resolves aggregated ClusterRoles transitively (admin <- edit <- view) with matchLabels and matchExpressions', () => {
    const rbac = [
      clusterRole('admin', {
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'agg/admin': 'true' } }] },
        rules: [],
      }),
      clusterRole('edit', {
        labels: { 'agg/admin': 'true' },
        aggregationRule: {
          clusterRoleSelectors: [{ matchExpressions: [{ key: 'agg/edit', operator: 'In', values: ['true'] }] }],
        },
      }),
      clusterRole('edit-rules', {
        labels: { 'agg/edit': 'true' },
        rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['update'] }],
      }),
      clusterRole('not-selected', {
        labels: { 'agg/edit': 'false' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      }),
      binding('RoleBinding', 'a', ['ClusterRole', 'admin'], [sa('web', 'shop')], 'shop'),
    ];
    expect(effectivePermissions(rbac, 'shop', 'web')).toEqual([
      { namespace: 'shop', apiGroup: 'apps', resource: 'deployments', resourceName: '*', verb: 'update' },
    ]);
  });

  it('takes grants to the account through its user name and groups, cluster-wide for ClusterRoleBindings, and skips system: bootstrap bindings', () => {
    const rbac = [
      clusterRole('reader', {
        rules: [{ apiGroups: [''], resources: ['nodes'], resourceNames: ['n1'], verbs: ['get'] }],
      }),
      clusterRole('urls', { rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] }),
      binding(
        'ClusterRoleBinding',
        'by-group',
        ['ClusterRole', 'reader'],
        [{ kind: 'Group', name: 'system:serviceaccounts:shop' }],
      ),
      binding(
        'RoleBinding',
        'by-user',
        ['ClusterRole', 'urls'],
        [{ kind: 'User', name: 'system:serviceaccount:shop:web' }],
        'other',
      ),
      binding(
        'ClusterRoleBinding',
        'system:discovery',
        ['ClusterRole', 'urls'],
        [{ kind: 'Group', name: 'system:authenticated' }],
      ),
      binding('ClusterRoleBinding', 'someone-else', ['ClusterRole', 'reader'], [sa('web', 'other-ns')]),
    ];
    expect(effectivePermissions(rbac, 'shop', 'web')).toEqual([
      { namespace: '*', apiGroup: '', resource: 'nodes', resourceName: 'n1', verb: 'get' },
      { namespace: '*', apiGroup: '', resource: '', resourceName: '*', verb: 'get', nonResourceURL: '/metrics' },
    ]);
  });

  it('compares with wildcards: a * grant covers the specific ones, not the other way round', () => {
    const wide = [{ namespace: '*', apiGroup: '*', resource: '*', resourceName: '*', verb: '*' }];
    const narrow = [{ namespace: 'shop', apiGroup: '', resource: 'pods', resourceName: '*', verb: 'get' }];
    expect(notCovered(narrow, wide)).toEqual([]);
    expect(notCovered(wide, narrow)).toEqual(wide);
    expect(describePermissions([...narrow, { ...narrow[0]!, verb: 'list' }])).toBe('get, list pods in shop');
  });
});
