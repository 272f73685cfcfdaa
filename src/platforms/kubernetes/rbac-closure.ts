/**
 * The RBAC part of the export closure outside the plan's namespaces: a RoleBinding in any
 * namespace may grant to an exported ServiceAccount (velero #1902 lost those), so the export
 * reads Roles and RoleBindings of every namespace, and the namespaces of the ones it includes
 * come along (the target may not have them; undo keeps a namespace that holds others' objects).
 * Read-only.
 */
import type { Cluster } from './cluster.js';
import type { KubeObject } from './objects.js';

const RBAC = 'rbac.authorization.k8s.io/v1';

/** Roles and RoleBindings of the namespaces outside the plan's (candidates for the closure). */
export async function readForeignRbac(
  cluster: Cluster,
  planNamespaces: readonly string[],
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const kind of ['Role', 'RoleBinding']) {
    if (!cluster.discovery.find(RBAC, kind)) continue;
    const all = await cluster.list(RBAC, kind, signal ? { signal } : {});
    out.push(...all.filter((o) => !planNamespaces.includes(o.metadata.namespace ?? '')));
  }
  return out;
}

/** The Namespace objects of included objects that live outside the plan's namespaces. */
export async function foreignNamespaces(
  cluster: Cluster,
  included: Iterable<KubeObject>,
  planNamespaces: readonly string[],
  signal?: AbortSignal,
): Promise<KubeObject[]> {
  const names = new Set<string>();
  for (const object of included) {
    const namespace = object.metadata.namespace;
    if (namespace && !planNamespaces.includes(namespace)) names.add(namespace);
  }
  const out: KubeObject[] = [];
  for (const name of [...names].sort()) {
    const namespace = await cluster.get({ apiVersion: 'v1', kind: 'Namespace', name }, signal);
    if (namespace) out.push(namespace);
  }
  return out;
}
