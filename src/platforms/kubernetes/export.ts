/**
 * Export: the objects of the plan's namespaces that the selector picks, plus everything they need
 * (the dependency closure: owners instead of owned objects, ConfigMaps/Secrets/PVCs/ServiceAccounts
 * pods use, the RBAC bindings of those ServiceAccounts in any namespace and their roles, Services selecting the
 * pods, Ingress backends, HPA targets), and a list of what was left out and why. Cluster
 * facilities the objects need (StorageClasses, IngressClasses, GatewayClasses, CRDs) are listed as
 * requirements for preflight, not copied. Read-only.
 */
import type { Cluster } from './cluster.js';
import { describeRef, dig, keyOf, refOf, stringOf, type KubeObject, type ObjectRef } from './objects.js';
import { foreignNamespaces, readForeignRbac } from './rbac-closure.js';
import { grantsTo } from './rbac-effective.js';
import { podLabelsOf, referencesOf, selectsPods, type Reference } from './references.js';

export interface ExportOptions {
  namespaces: string[];
  /** Label selector as a map (every label must match); undefined selects everything. */
  selector?: Record<string, string>;
  signal?: AbortSignal;
}

export interface LeftOut {
  ref: ObjectRef;
  reason: string;
}

export interface Requirement {
  kind: string;
  group: string;
  name: string;
  /** Who needs it: `apps/v1 StatefulSet shop/db (volumeClaimTemplate data)`. */
  by: string[];
}

export interface ExportResult {
  objects: KubeObject[];
  /** Plan namespaces the source does not have. */
  missingNamespaces: string[];
  /** Objects the selector picked (before the closure added what they need). */
  selected: number;
  leftOut: LeftOut[];
  requires: Requirement[];
}

/** Namespaced kinds read from each namespace, by group (the source's preferred version is used). */
const namespacedKinds: Array<[string, string]> = [
  ['', 'ConfigMap'],
  ['', 'Secret'],
  ['', 'ServiceAccount'],
  ['', 'Service'],
  ['', 'PersistentVolumeClaim'],
  ['', 'Pod'],
  ['apps', 'Deployment'],
  ['apps', 'StatefulSet'],
  ['apps', 'DaemonSet'],
  ['apps', 'ReplicaSet'],
  ['batch', 'Job'],
  ['batch', 'CronJob'],
  ['networking.k8s.io', 'Ingress'],
  ['networking.k8s.io', 'NetworkPolicy'],
  ['rbac.authorization.k8s.io', 'Role'],
  ['rbac.authorization.k8s.io', 'RoleBinding'],
  ['autoscaling', 'HorizontalPodAutoscaler'],
  ['policy', 'PodDisruptionBudget'],
  ['gateway.networking.k8s.io', 'Gateway'],
  ['gateway.networking.k8s.io', 'HTTPRoute'],
];

const builtinClusterRoles = new Set(['cluster-admin', 'admin', 'edit', 'view']);

/** Apply order: what others depend on first. */
export const APPLY_ORDER: readonly string[] = [
  'Namespace',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Ingress',
  'Gateway',
  'HTTPRoute',
];

export function sortForApply(objects: KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject): number => {
    const index = APPLY_ORDER.indexOf(o.kind);
    return index < 0 ? APPLY_ORDER.length : index;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b) || keyOf(refOf(a)).localeCompare(keyOf(refOf(b))));
}

function matchesSelector(object: KubeObject, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const labels = object.metadata.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function controllerOwner(object: KubeObject): { kind: string; name: string; apiVersion: string } | undefined {
  const refs = Array.isArray(object.metadata.ownerReferences) ? object.metadata.ownerReferences : [];
  for (const ref of refs) {
    if (dig(ref, 'controller') === true) {
      const kind = stringOf(dig(ref, 'kind'));
      const name = stringOf(dig(ref, 'name'));
      const apiVersion = stringOf(dig(ref, 'apiVersion'));
      if (kind && name && apiVersion) return { kind, name, apiVersion };
    }
  }
  return undefined;
}

/** What the source holds in the plan's namespaces, read once. */
interface Inventory {
  /** Namespaced objects of every served kind (built-in and custom). */
  all: KubeObject[];
  /** ClusterRoles, ClusterRoleBindings, and Roles and RoleBindings of other namespaces (candidates for the RBAC closure). */
  clusterScoped: KubeObject[];
  namespaces: KubeObject[];
  crds: KubeObject[];
}

/** Step 1: read the namespaces, the kinds the cluster serves in them, and cluster-scoped RBAC. */
async function readInventory(cluster: Cluster, options: ExportOptions): Promise<Inventory> {
  const { discovery } = cluster;
  const sig = options.signal ? { signal: options.signal } : {};
  const all: KubeObject[] = [];
  const clusterScoped: KubeObject[] = [];
  const namespaces: KubeObject[] = [];
  for (const namespace of options.namespaces) {
    const ns = await cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }, options.signal);
    if (ns) namespaces.push(ns);
  }
  const crds = discovery.find('apiextensions.k8s.io/v1', 'CustomResourceDefinition')
    ? await cluster.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition', sig)
    : [];
  const kinds: Array<{ apiVersion: string; kind: string; crd?: KubeObject }> = [];
  for (const [group, kind] of namespacedKinds) {
    const served = discovery.versionsOf(group, kind)[0];
    if (served) kinds.push({ apiVersion: served.apiVersion, kind });
  }
  for (const crd of crds) {
    const group = stringOf(dig(crd, 'spec', 'group')) ?? '';
    const kind = stringOf(dig(crd, 'spec', 'names', 'kind')) ?? '';
    if (
      dig(crd, 'spec', 'scope') === 'Cluster' ||
      kinds.some((k) => k.kind === kind && k.apiVersion.startsWith(`${group}/`))
    )
      continue;
    const served = discovery.versionsOf(group, kind)[0];
    if (served) kinds.push({ apiVersion: served.apiVersion, kind, crd });
  }
  for (const namespace of options.namespaces) {
    for (const { apiVersion, kind } of kinds)
      all.push(...(await cluster.list(apiVersion, kind, { namespace, ...sig })));
  }
  for (const kind of ['ClusterRole', 'ClusterRoleBinding']) {
    if (discovery.find('rbac.authorization.k8s.io/v1', kind))
      clusterScoped.push(...(await cluster.list('rbac.authorization.k8s.io/v1', kind, sig)));
  }
  clusterScoped.push(...(await readForeignRbac(cluster, options.namespaces, options.signal)));
  return { all, clusterScoped, namespaces, crds };
}

/** Why an object is not copied because the cluster (or a controller) makes it; undefined: copy it. */
function generatedReasons(all: KubeObject[]): (object: KubeObject) => string | undefined {
  const stsClaims = new Map<string, string>();
  for (const sts of all.filter((o) => o.kind === 'StatefulSet')) {
    for (const claim of Array.isArray(dig(sts, 'spec', 'volumeClaimTemplates'))
      ? (dig(sts, 'spec', 'volumeClaimTemplates') as unknown[])
      : []) {
      const prefix = `${String(dig(claim, 'metadata', 'name'))}-${sts.metadata.name}-`;
      stsClaims.set(`${sts.metadata.namespace}/${prefix}`, sts.metadata.name);
    }
  }
  return (object) => {
    if (object.kind === 'ConfigMap' && object.metadata.name === 'kube-root-ca.crt')
      return 'created by the cluster in every namespace';
    if (object.kind === 'ServiceAccount' && object.metadata.name === 'default')
      return 'created by the cluster in every namespace';
    if (object.kind === 'Secret' && object.type === 'kubernetes.io/service-account-token')
      return 'a generated service account token; the target issues its own';
    if (
      object.kind === 'ClusterRole' &&
      (builtinClusterRoles.has(object.metadata.name) || object.metadata.name.startsWith('system:'))
    )
      return 'built into every cluster';
    if (object.kind === 'PersistentVolumeClaim') {
      for (const [prefix, sts] of stsClaims) {
        if (`${object.metadata.namespace}/${object.metadata.name}`.startsWith(prefix))
          return `created by StatefulSet ${sts} from its volumeClaimTemplates (the target's StatefulSet creates its own)`;
      }
    }
    const owner = controllerOwner(object);
    if (owner) return `owned by ${owner.kind} ${owner.name} (its controller recreates it)`;
    return undefined;
  };
}

type FindRef = (ref: { kind: string; group: string; name: string; namespace?: string }) => KubeObject | undefined;

/** The closure being built: what is included (and still to follow), left out, and required of the target. */
interface Closure {
  included: Map<string, KubeObject>;
  leftOut: Map<string, LeftOut>;
  requires: Map<string, Requirement>;
  queue: KubeObject[];
  include(object: KubeObject): void;
  leave(object: KubeObject, reason: string): void;
  require(reference: Reference, by: KubeObject): void;
}

function createClosure(): Closure {
  const included = new Map<string, KubeObject>();
  const leftOut = new Map<string, LeftOut>();
  const requires = new Map<string, Requirement>();
  const queue: KubeObject[] = [];
  return {
    included,
    leftOut,
    requires,
    queue,
    include(object) {
      const key = keyOf(refOf(object));
      if (included.has(key)) return;
      leftOut.delete(key);
      included.set(key, object);
      queue.push(object);
    },
    leave(object, reason) {
      const key = keyOf(refOf(object));
      if (!included.has(key) && !leftOut.has(key)) leftOut.set(key, { ref: refOf(object), reason });
    },
    require(reference, by) {
      const key = `${reference.kind} ${reference.name}`;
      const entry = requires.get(key) ?? { kind: reference.kind, group: reference.group, name: reference.name, by: [] };
      entry.by.push(`${describeRef(refOf(by))} (${reference.via})`);
      requires.set(key, entry);
    },
  };
}

/** Step 2: the roots: selected objects, or their top controller when a controller owns them. Returns how many were selected. */
function selectRoots(
  inventory: Inventory,
  options: ExportOptions,
  closure: Closure,
  find: FindRef,
  generatedReason: (o: KubeObject) => string | undefined,
): number {
  let selected = 0;
  for (const object of inventory.all) {
    if (!matchesSelector(object, options.selector)) continue;
    selected += 1;
    const owner = controllerOwner(object);
    const reason = generatedReason(object);
    if (owner) {
      // Select the owner instead (it recreates this object on the target).
      let top: KubeObject | undefined = object;
      while (top && controllerOwner(top)) {
        const o = controllerOwner(top);
        top = o
          ? find({
              kind: o.kind,
              group: o.apiVersion.includes('/') ? (o.apiVersion.split('/')[0] ?? '') : '',
              name: o.name,
              ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
            })
          : undefined;
        if (top && !controllerOwner(top)) closure.include(top);
      }
      closure.leave(object, reason ?? 'owned by another object');
    } else if (reason) closure.leave(object, reason);
    else closure.include(object);
  }
  return selected;
}

/** Step 3: follow what each included object needs: its Services, RBAC bindings, CRD and references. */
function followReferences(
  inventory: Inventory,
  closure: Closure,
  find: FindRef,
  generatedReason: (o: KubeObject) => string | undefined,
): void {
  const { all, clusterScoped, crds } = inventory;
  const { queue, include, leave, require, leftOut } = closure;
  while (queue.length > 0) {
    const object = queue.shift() as KubeObject;
    const refs = referencesOf(object);
    // Services selecting the pods of a workload belong to it.
    const podLabels = podLabelsOf(object);
    if (Object.keys(podLabels).length > 0 && object.kind !== 'Pod') {
      for (const service of all.filter(
        (o) => o.kind === 'Service' && o.metadata.namespace === object.metadata.namespace,
      )) {
        if (selectsPods(service, podLabels)) include(service);
      }
    }
    if (object.kind === 'ServiceAccount') {
      for (const binding of [...all, ...clusterScoped].filter(
        (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
      )) {
        // Named as the ServiceAccount, its user name, or its namespace's group (system:serviceaccounts:NS).
        const bound = grantsTo(binding, object.metadata.namespace ?? '', object.metadata.name, 'account');
        if (bound) include(binding);
      }
    }
    const crdRequirement = object.apiVersion.includes('/')
      ? crds.find(
          (crd) =>
            dig(crd, 'spec', 'group') === object.apiVersion.split('/')[0] &&
            dig(crd, 'spec', 'names', 'kind') === object.kind,
        )
      : undefined;
    if (crdRequirement)
      require({
        kind: 'CustomResourceDefinition',
        group: 'apiextensions.k8s.io',
        name: crdRequirement.metadata.name,
        via: 'custom resource',
        requires: true,
      }, object);
    for (const reference of refs) {
      if (reference.requires) {
        require(reference, object);
        continue;
      }
      const target = find(reference);
      if (!target) {
        if (reference.kind === 'ServiceAccount' && reference.name === 'default') continue;
        const missing: ObjectRef = {
          apiVersion: reference.group ? `${reference.group}/v1` : 'v1',
          kind: reference.kind,
          name: reference.name,
          ...(reference.namespace ? { namespace: reference.namespace } : {}),
        };
        leftOut.set(keyOf(missing), {
          ref: missing,
          reason: `referenced by ${describeRef(refOf(object))} (${reference.via}) but missing on the source`,
        });
        continue;
      }
      const reason = generatedReason(target);
      if (reason) {
        leave(target, reason);
        // The default ServiceAccount is not copied, but its RBAC bindings are.
        if (target.kind === 'ServiceAccount') queue.push(target);
      } else include(target);
    }
  }
}

/** Step 4: everything not included is left out with its reason; CRDs the closure needs are the target's to have. */
function recordLeftOut(
  inventory: Inventory,
  options: ExportOptions,
  closure: Closure,
  generatedReason: (o: KubeObject) => string | undefined,
): void {
  for (const object of inventory.all) {
    if (!closure.included.has(keyOf(refOf(object)))) {
      closure.leave(
        object,
        generatedReason(object) ??
          (options.selector
            ? 'not selected by spec.workloads.selector and not needed by a selected object'
            : 'not needed'),
      );
    }
  }
  for (const crd of inventory.crds) {
    if (
      [...closure.requires.values()].some((r) => r.kind === 'CustomResourceDefinition' && r.name === crd.metadata.name)
    ) {
      closure.leftOut.set(keyOf(refOf(crd)), {
        ref: refOf(crd),
        reason: 'cluster infrastructure installed with its operator; preflight checks the target serves it',
      });
    }
  }
}

/** Reads the objects of the plan's namespaces and computes the closure. */
export async function exportWorkloads(cluster: Cluster, options: ExportOptions): Promise<ExportResult> {
  const inventory = await readInventory(cluster, options);
  const byKey = new Map<string, KubeObject>();
  for (const object of [...inventory.all, ...inventory.clusterScoped]) byKey.set(keyOf(refOf(object)), object);
  const find: FindRef = (ref) =>
    byKey.get(
      keyOf({
        apiVersion: ref.group ? `${ref.group}/x` : 'v1',
        kind: ref.kind,
        name: ref.name,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
      }),
    );
  const generatedReason = generatedReasons(inventory.all);
  const closure = createClosure();
  const selected = selectRoots(inventory, options, closure, find, generatedReason);
  followReferences(inventory, closure, find, generatedReason);
  recordLeftOut(inventory, options, closure, generatedReason);
  const foreign = await foreignNamespaces(cluster, closure.included.values(), options.namespaces, options.signal);
  const objects = sortForApply([...inventory.namespaces, ...foreign, ...closure.included.values()]);
  return {
    objects,
    missingNamespaces: options.namespaces.filter(
      (name) => !inventory.namespaces.some((ns) => ns.metadata.name === name),
    ),
    selected,
    leftOut: [...closure.leftOut.values()].sort((a, b) => keyOf(a.ref).localeCompare(keyOf(b.ref))),
    requires: [...closure.requires.values()],
  };
}
