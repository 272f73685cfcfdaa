/**
 * `k8s.rbac-drift`: each exported ServiceAccount's effective permissions on the source (its RBAC
 * objects as they are) against the target (its RBAC objects with the translated ones applied over
 * them), so a grant that does not survive the move (an aggregated ClusterRole the target's
 * operators do not feed, a built-in role that differs, a binding left behind) is found before the
 * run. The target granting less is a blocker (the workload would be refused), more a warning.
 * Read-only.
 */
import type { Finding } from '../../common/findings.js';
import type { Cluster } from './cluster.js';
import { describeRef, keyOf, refOf, type KubeObject } from './objects.js';
import { describePermissions, effectivePermissions, notCovered } from './rbac-effective.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
const KINDS = ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];

async function readRbac(cluster: Cluster, signal?: AbortSignal): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const kind of KINDS)
    if (cluster.discovery.find(RBAC, kind)) out.push(...(await cluster.list(RBAC, kind, signal ? { signal } : {})));
  return out;
}

export interface RbacDriftInput {
  source: Cluster;
  target: Cluster;
  /** Exported source objects and their translations, index for index. */
  exported: readonly KubeObject[];
  translated: readonly KubeObject[];
  signal?: AbortSignal;
}

export async function rbacDriftFindings(input: RbacDriftInput): Promise<Finding[]> {
  const accounts = input.exported.flatMap((object, i) => {
    const translated = input.translated[i];
    return object.kind === 'ServiceAccount' && translated ? [{ source: object, target: translated }] : [];
  });
  if (accounts.length === 0) return [];
  const sourceRbac = await readRbac(input.source, input.signal);
  const targetRbac = new Map((await readRbac(input.target, input.signal)).map((o) => [keyOf(refOf(o)), o]));
  for (const object of input.translated.filter((o) => KINDS.includes(o.kind)))
    targetRbac.set(keyOf(refOf(object)), object);
  const findings: Finding[] = [];
  for (const { source, target } of accounts) {
    const before = effectivePermissions(sourceRbac, source.metadata.namespace ?? '', source.metadata.name);
    const after = effectivePermissions([...targetRbac.values()], target.metadata.namespace ?? '', target.metadata.name);
    // Compare like with like: the source's namespace grants against the same namespace mapped on the target.
    const renamed = before.map((p) =>
      p.namespace === source.metadata.namespace ? { ...p, namespace: target.metadata.namespace ?? '' } : p,
    );
    const missing = notCovered(renamed, after);
    const extra = notCovered(after, renamed);
    if (missing.length === 0 && extra.length === 0) continue;
    const parts = [
      ...(missing.length > 0 ? [`the target would not grant ${describePermissions(missing)}`] : []),
      ...(extra.length > 0 ? [`the target would also grant ${describePermissions(extra)}`] : []),
    ];
    findings.push({
      id: 'k8s.rbac-drift',
      severity: missing.length > 0 ? 'blocker' : 'warning',
      subject: describeRef(refOf(target)),
      message: `ServiceAccount ${source.metadata.namespace ?? ''}/${source.metadata.name}: ${parts.join('; ')} (effective permissions from the RBAC objects, aggregated ClusterRoles included, after translation)`,
      remediation:
        missing.length > 0
          ? 'grant the missing permissions on the target (for example the ClusterRole the source aggregates into the bound role), or change the source if the workload does not need them'
          : 'check that the extra grants on the target are intended (a broader built-in or aggregated role there)',
    });
  }
  return findings;
}
