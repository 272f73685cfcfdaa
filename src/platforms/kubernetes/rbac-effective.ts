/**
 * Effective RBAC permissions of one ServiceAccount, computed from a cluster's Roles, ClusterRoles,
 * RoleBindings and ClusterRoleBindings the way the API server's RBAC authorizer reads them: the
 * bindings whose subjects name the account (as a ServiceAccount, as the user
 * `system:serviceaccount:NS:NAME`, or through the groups `system:serviceaccounts`,
 * `system:serviceaccounts:NS`, `system:authenticated`); a RoleBinding's grants apply in its
 * namespace, a ClusterRoleBinding's everywhere; an aggregated ClusterRole holds the rules of every
 * ClusterRole its `aggregationRule` selects (what the aggregation controller writes, computed here
 * so an unsynced role reads the same). The bootstrap `system:*` ClusterRoleBindings are left out on
 * both sides (each cluster's own policy, not the workload's). Pure.
 */
import { asArray, asRecord, dig, isObject, stringOf, type KubeObject } from './objects.js';

/** One granted permission; `*` in a field grants every value. */
export interface Permission {
  /** Namespace the grant applies in; `*` for cluster-wide (a ClusterRoleBinding). */
  namespace: string;
  /** API group (`''` core) and resource (with subresource: `pods/log`), or a non-resource URL. */
  apiGroup: string;
  resource: string;
  resourceName: string;
  verb: string;
  nonResourceURL?: string;
}

function labelSelectorMatches(selector: unknown, labels: Record<string, unknown>): boolean {
  if (!isObject(selector)) return false;
  const matchLabels = asRecord(selector.matchLabels);
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  for (const expression of asArray(selector.matchExpressions)) {
    const key = stringOf(dig(expression, 'key')) ?? '';
    const values = asArray(dig(expression, 'values')).map(String);
    const has = key in labels;
    switch (dig(expression, 'operator')) {
      case 'In':
        if (!has || !values.includes(String(labels[key]))) return false;
        break;
      case 'NotIn':
        if (has && values.includes(String(labels[key]))) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The rules of a ClusterRole, aggregated ones resolved (cycles cut). */
function clusterRoleRules(name: string, clusterRoles: Map<string, KubeObject>, seen: Set<string>): unknown[] {
  const role = clusterRoles.get(name);
  if (!role || seen.has(name)) return [];
  seen.add(name);
  const selectors = asArray(dig(role, 'aggregationRule', 'clusterRoleSelectors'));
  if (selectors.length === 0) return asArray(role.rules);
  const rules: unknown[] = [];
  for (const other of clusterRoles.values()) {
    if (other.metadata.name === name) continue;
    const labels = asRecord(other.metadata.labels);
    if (selectors.some((selector) => labelSelectorMatches(selector, labels)))
      rules.push(...clusterRoleRules(other.metadata.name, clusterRoles, new Set(seen)));
  }
  return rules;
}

function expand(rules: unknown[], namespace: string): Permission[] {
  const out: Permission[] = [];
  for (const rule of rules) {
    const verbs = asArray(dig(rule, 'verbs')).map(String);
    const urls = asArray(dig(rule, 'nonResourceURLs')).map(String);
    for (const url of urls)
      for (const verb of verbs)
        out.push({ namespace: '*', apiGroup: '', resource: '', resourceName: '*', verb, nonResourceURL: url });
    const groups = asArray(dig(rule, 'apiGroups')).map(String);
    const resources = asArray(dig(rule, 'resources')).map(String);
    const names = asArray(dig(rule, 'resourceNames')).map(String);
    for (const apiGroup of groups)
      for (const resource of resources)
        for (const resourceName of names.length > 0 ? names : ['*'])
          for (const verb of verbs) out.push({ namespace, apiGroup, resource, resourceName, verb });
  }
  return out;
}

/**
 * True when the binding grants to the ServiceAccount `namespace/name`. `scope: 'account'` counts
 * the subjects that are about this account or its namespace (the ServiceAccount, its user name,
 * the group `system:serviceaccounts:NS`): what the export carries with it. `scope: 'all'` adds
 * the cluster-wide groups every account is in (`system:serviceaccounts`, `system:authenticated`).
 */
export function grantsTo(
  binding: KubeObject,
  namespace: string,
  name: string,
  scope: 'account' | 'all' = 'all',
): boolean {
  const groups = [
    `system:serviceaccounts:${namespace}`,
    ...(scope === 'all' ? ['system:serviceaccounts', 'system:authenticated'] : []),
  ];
  return asArray(binding.subjects).some((subject) => {
    const kind = dig(subject, 'kind');
    const subjectName = stringOf(dig(subject, 'name'));
    if (kind === 'ServiceAccount')
      return subjectName === name && (stringOf(dig(subject, 'namespace')) ?? binding.metadata.namespace) === namespace;
    if (kind === 'User') return subjectName === `system:serviceaccount:${namespace}:${name}`;
    if (kind === 'Group') return subjectName !== undefined && groups.includes(subjectName);
    return false;
  });
}

/** Every permission the cluster's RBAC objects grant to the ServiceAccount `namespace/name`. */
export function effectivePermissions(rbac: readonly KubeObject[], namespace: string, name: string): Permission[] {
  const clusterRoles = new Map(rbac.filter((o) => o.kind === 'ClusterRole').map((o) => [o.metadata.name, o]));
  const roles = new Map(
    rbac.filter((o) => o.kind === 'Role').map((o) => [`${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]),
  );
  const out: Permission[] = [];
  for (const binding of rbac.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    // The bootstrap policy (`system:*` ClusterRoleBindings to groups every account is in) is each
    // cluster's own, like the built-in roles the export does not copy.
    if (binding.kind === 'ClusterRoleBinding' && binding.metadata.name.startsWith('system:')) continue;
    if (!grantsTo(binding, namespace, name)) continue;
    const scope = binding.kind === 'RoleBinding' ? (binding.metadata.namespace ?? '') : '*';
    const roleKind = dig(binding, 'roleRef', 'kind');
    const roleName = stringOf(dig(binding, 'roleRef', 'name')) ?? '';
    const rules =
      roleKind === 'ClusterRole'
        ? clusterRoleRules(roleName, clusterRoles, new Set())
        : roleKind === 'Role' && binding.kind === 'RoleBinding'
          ? asArray(roles.get(`${scope}/${roleName}`)?.rules)
          : [];
    out.push(...expand(rules, scope));
  }
  return out;
}

const covers = (a: string, b: string): boolean => a === '*' || a === b;

/** True when `grant` allows everything `wanted` allows. */
export function permits(grant: Permission, wanted: Permission): boolean {
  if ((grant.nonResourceURL === undefined) !== (wanted.nonResourceURL === undefined)) return false;
  if (grant.nonResourceURL !== undefined && wanted.nonResourceURL !== undefined) {
    const url = grant.nonResourceURL;
    const matches = url.endsWith('*')
      ? wanted.nonResourceURL.startsWith(url.slice(0, -1))
      : url === wanted.nonResourceURL;
    return matches && covers(grant.verb, wanted.verb);
  }
  return (
    covers(grant.namespace, wanted.namespace) &&
    covers(grant.apiGroup, wanted.apiGroup) &&
    covers(grant.resource, wanted.resource) &&
    covers(grant.resourceName, wanted.resourceName) &&
    covers(grant.verb, wanted.verb)
  );
}

/** The permissions of `a` that nothing in `b` allows. */
export function notCovered(a: readonly Permission[], b: readonly Permission[]): Permission[] {
  const seen = new Set<string>();
  return a.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return !b.some((grant) => permits(grant, p));
  });
}

/** Permissions grouped for a message: `get, list, watch widgets.example.com in shop`. */
export function describePermissions(permissions: readonly Permission[], limit = 8): string {
  const groups = new Map<string, string[]>();
  for (const p of permissions) {
    const what =
      p.nonResourceURL !== undefined
        ? `URL ${p.nonResourceURL}`
        : `${p.apiGroup === '' ? p.resource : `${p.resource}.${p.apiGroup}`}${p.resourceName === '*' ? '' : `/${p.resourceName}`} ${p.namespace === '*' ? 'cluster-wide' : `in ${p.namespace}`}`;
    groups.set(what, [...new Set([...(groups.get(what) ?? []), p.verb])]);
  }
  const lines = [...groups].map(([what, verbs]) => `${verbs.join(', ')} ${what}`);
  return lines.length > limit
    ? `${lines.slice(0, limit).join('; ')}; and ${lines.length - limit} more`
    : lines.join('; ');
}
