/**
 * Apply and undo on the target. Objects are applied in dependency order with server-side apply
 * (field manager `handoff`) and labelled with the migration; objects handoff creates also get
 * `handoff.dev/created=true` and the run that created them, so re-running converges (same labels,
 * same fields: the server changes nothing) and undo deletes exactly what handoff created. Objects
 * that existed before are applied without force (a field someone else owns with another value is
 * a conflict to resolve, not to overwrite) and, on undo, only handoff's own fields are removed
 * from them (an empty apply by the same field manager).
 */
import { AdapterError, messageOf, TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import { KubeApiError } from './client.js';
import type { Cluster } from './cluster.js';
import type { ServedResource } from './discovery.js';
import { APPLY_ORDER, sortForApply } from './export.js';
import { asRecord, describeRef, dig, keyOf, refOf, type KubeObject, type ObjectRef } from './objects.js';

export const LABEL_MIGRATION = 'handoff.dev/migration';
export const LABEL_RUN = 'handoff.dev/run';
export const LABEL_CREATED = 'handoff.dev/created';

export interface ApplyResult {
  created: ObjectRef[];
  updated: ObjectRef[];
  unchanged: ObjectRef[];
  /** Existed before handoff touched them (left in place by undo). */
  adopted: ObjectRef[];
}

export interface ApplyOptions {
  migration: string;
  runId: string;
  signal?: AbortSignal;
}

function withLabels(object: KubeObject, labels: Record<string, string>): KubeObject {
  return { ...object, metadata: { ...object.metadata, labels: { ...(object.metadata.labels ?? {}), ...labels } } };
}

export async function applyObjects(
  cluster: Cluster,
  objects: readonly KubeObject[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  const result: ApplyResult = { created: [], updated: [], unchanged: [], adopted: [] };
  const ordered = sortForApply([...objects]);
  const existing = new Map<string, KubeObject | undefined>();
  const problems: string[] = [];
  // Dry run first on objects that existed before handoff: a conflict stops the run before anything changes.
  for (const object of ordered) {
    const live = await cluster.get(refOf(object), options.signal);
    existing.set(keyOf(refOf(object)), live);
    const labels = live?.metadata.labels ?? {};
    if (!live || (labels[LABEL_MIGRATION] === options.migration && labels[LABEL_CREATED] === 'true')) continue;
    try {
      await cluster.apply(withLabels(object, { [LABEL_MIGRATION]: options.migration }), {
        dryRun: true,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      problems.push(`${describeRef(refOf(object))}: ${messageOf(error)}`);
    }
  }
  if (problems.length > 0) {
    throw new AdapterError(
      `cannot apply to objects that existed on the target before (nothing was changed): ${problems.join('; ')}`,
      { details: { problems } },
    );
  }
  for (const object of ordered) {
    const ref = refOf(object);
    const before = existing.get(keyOf(ref));
    const labels = before?.metadata.labels ?? {};
    const ours =
      before === undefined || (labels[LABEL_MIGRATION] === options.migration && labels[LABEL_CREATED] === 'true');
    const applied = ours
      ? withLabels(object, {
          [LABEL_MIGRATION]: options.migration,
          [LABEL_RUN]: before ? (labels[LABEL_RUN] ?? options.runId) : options.runId,
          [LABEL_CREATED]: 'true',
        })
      : withLabels(object, { [LABEL_MIGRATION]: options.migration });
    const after = await cluster.apply(applied, { force: ours, ...(options.signal ? { signal: options.signal } : {}) });
    if (!before) result.created.push(ref);
    else if (after.metadata.resourceVersion === before.metadata.resourceVersion) result.unchanged.push(ref);
    else result.updated.push(ref);
    if (!ours) result.adopted.push(ref);
  }
  return result;
}

/** Why a workload is not ready yet, or undefined when it is. */
export function notReadyReason(object: KubeObject): string | undefined {
  const status = asRecord(object.status);
  const generation = Number(object.metadata.generation ?? 0);
  const observed = Number(status.observedGeneration ?? 0);
  const desired = Number(dig(object, 'spec', 'replicas') ?? 1);
  switch (object.kind) {
    case 'Deployment': {
      if (observed < generation) return 'the controller has not seen the latest spec';
      const available = Number(status.availableReplicas ?? 0);
      const updated = Number(status.updatedReplicas ?? 0);
      return available >= desired && updated >= desired ? undefined : `${available}/${desired} replicas available`;
    }
    case 'StatefulSet': {
      if (observed < generation) return 'the controller has not seen the latest spec';
      const ready = Number(status.readyReplicas ?? 0);
      return ready >= desired ? undefined : `${ready}/${desired} replicas ready`;
    }
    case 'DaemonSet': {
      if (observed < generation) return 'the controller has not seen the latest spec';
      const ready = Number(status.numberReady ?? 0);
      const wanted = Number(status.desiredNumberScheduled ?? 0);
      return ready >= wanted ? undefined : `${ready}/${wanted} pods ready`;
    }
    default:
      return undefined;
  }
}

const waitedKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** Waits until every Deployment, StatefulSet and DaemonSet among `objects` is ready; bounded. */
export async function waitReady(
  cluster: Cluster,
  objects: readonly KubeObject[],
  options: { timeoutMs: number; signal?: AbortSignal; pollMs?: number },
): Promise<number> {
  const started = Date.now();
  const workloads = objects.filter((o) => waitedKinds.has(o.kind)).map(refOf);
  let pending: string[] = [];
  let interval = options.pollMs ?? 200;
  for (;;) {
    pending = [];
    for (const ref of workloads) {
      const live = await cluster.get(ref, options.signal);
      const reason = live ? notReadyReason(live) : 'it does not exist';
      if (reason) pending.push(`${describeRef(ref)}: ${reason}`);
    }
    if (pending.length === 0) return Date.now() - started;
    if (Date.now() - started >= options.timeoutMs) {
      throw new TimeoutError(
        `not ready after ${Math.round(options.timeoutMs / 1000)} s on context ${cluster.client.context}: ${pending.join('; ')}`,
        {
          details: { pending },
        },
      );
    }
    await sleep(Math.min(interval, Math.max(0, options.timeoutMs - (Date.now() - started))), options.signal);
    interval = Math.min(interval * 2, 2000);
  }
}

export interface UndoResult {
  deleted: ObjectRef[];
  kept: Array<ObjectRef & { reason: string }>;
}

const generatedPlurals = new Set([
  'events',
  'pods',
  'replicasets',
  'endpoints',
  'endpointslices',
  'controllerrevisions',
  'leases',
  'nodes',
  'persistentvolumes',
]);

/** Deletes what handoff created for the migration; removes handoff's fields from what it adopted. */
export async function undoApply(
  cluster: Cluster,
  options: { migration: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<UndoResult> {
  const result: UndoResult = { deleted: [], kept: [] };
  const selector = `${LABEL_MIGRATION}=${options.migration}`;
  const found: KubeObject[] = [];
  const seen = new Set<string>();
  for (const resource of cluster.discovery.resources) {
    const key = `${resource.group}/${resource.plural}`;
    if (
      seen.has(key) ||
      generatedPlurals.has(resource.plural) ||
      !resource.verbs.includes('list') ||
      !resource.verbs.includes('delete')
    )
      continue;
    seen.add(key);
    found.push(
      ...(await listTolerant(cluster, resource, {
        labelSelector: selector,
        ...(options.signal ? { signal: options.signal } : {}),
      })),
    );
  }
  const ordered = sortForApply(found).reverse();
  const namespaces = ordered.filter((o) => o.kind === 'Namespace');
  for (const object of ordered.filter((o) => o.kind !== 'Namespace')) {
    const ref = refOf(object);
    if (object.metadata.labels?.[LABEL_CREATED] === 'true') {
      if (await cluster.remove(ref, options.signal)) result.deleted.push(ref);
      // Claims a created StatefulSet made from its volumeClaimTemplates did not exist before either.
      if (object.kind === 'StatefulSet') result.deleted.push(...(await removeClaims(cluster, object, options.signal)));
    } else {
      await releaseFields(cluster, object, options.signal);
      result.kept.push({ ...ref, reason: 'existed before the migration; only handoff’s fields were removed' });
    }
  }
  for (const namespace of namespaces) {
    const ref = refOf(namespace);
    if (namespace.metadata.labels?.[LABEL_CREATED] !== 'true') {
      await releaseFields(cluster, namespace, options.signal);
      result.kept.push({ ...ref, reason: 'existed before the migration; only handoff’s fields were removed' });
      continue;
    }
    const others = await foreignObjects(cluster, namespace.metadata.name, options.signal);
    if (others.length > 0) {
      result.kept.push({
        ...ref,
        reason: `holds objects handoff did not create: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}`,
      });
    } else if (await cluster.remove(ref, options.signal)) {
      // Namespaces terminate asynchronously; wait (bounded) so a new provision does not meet a terminating one.
      await waitGone(cluster, ref, options.timeoutMs ?? 120_000, options.signal);
      result.deleted.push(ref);
    }
  }
  return result;
}

async function waitGone(cluster: Cluster, ref: ObjectRef, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  let interval = 50;
  while (await cluster.get(ref, signal)) {
    if (Date.now() - started >= timeoutMs)
      throw new TimeoutError(`${describeRef(ref)} is still terminating after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(interval, signal);
    interval = Math.min(interval * 2, 2000);
  }
}

/**
 * Lists a kind for undo. A kind handoff applies must list; any other kind (an aggregated API whose
 * backend is down, a kind the user may not list) cannot hold what handoff created and is skipped.
 */
async function listTolerant(
  cluster: Cluster,
  resource: ServedResource,
  options: { namespace?: string; labelSelector?: string; signal?: AbortSignal },
): Promise<KubeObject[]> {
  try {
    return await cluster.list(resource.apiVersion, resource.kind, options);
  } catch (error) {
    const applied = applyOrderKinds.has(resource.kind) || customGroups(cluster).has(resource.group);
    if (applied || !(error instanceof KubeApiError)) throw error;
    return [];
  }
}

/** The kinds handoff applies (the apply order lists them all). */
const applyOrderKinds = new Set<string>(APPLY_ORDER);

/** Groups served through CRDs are not aggregated APIs: their resources must list. */
function customGroups(cluster: Cluster): Set<string> {
  const builtin = new Set(['', 'apps', 'batch', 'policy', 'autoscaling']);
  return new Set(
    cluster.discovery.resources.map((r) => r.group).filter((g) => !builtin.has(g) && !g.endsWith('.k8s.io')),
  );
}

async function removeClaims(cluster: Cluster, statefulSet: KubeObject, signal?: AbortSignal): Promise<ObjectRef[]> {
  const templates = dig(statefulSet, 'spec', 'volumeClaimTemplates');
  const prefixes = (Array.isArray(templates) ? templates : []).map(
    (t) => `${String(dig(t, 'metadata', 'name'))}-${statefulSet.metadata.name}-`,
  );
  const namespace = statefulSet.metadata.namespace;
  if (prefixes.length === 0 || !namespace) return [];
  const claims = await cluster.list('v1', 'PersistentVolumeClaim', { namespace, ...(signal ? { signal } : {}) });
  const removed: ObjectRef[] = [];
  for (const claim of claims) {
    const ordinal = prefixes.some(
      (p) => claim.metadata.name.startsWith(p) && /^\d+$/.test(claim.metadata.name.slice(p.length)),
    );
    if (
      ordinal &&
      claim.metadata.labels?.[LABEL_MIGRATION] === undefined &&
      (await cluster.remove(refOf(claim), signal))
    )
      removed.push(refOf(claim));
  }
  return removed;
}

async function releaseFields(cluster: Cluster, object: KubeObject, signal?: AbortSignal): Promise<void> {
  const ref = refOf(object);
  const empty: KubeObject = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
  };
  await cluster.apply(empty, signal ? { signal } : {});
}

/** Objects in a namespace that handoff did not create (ignoring what every namespace holds). */
async function foreignObjects(cluster: Cluster, namespace: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const resource of cluster.discovery.resources) {
    const key = `${resource.group}/${resource.plural}`;
    if (
      !resource.namespaced ||
      seen.has(key) ||
      generatedPlurals.has(resource.plural) ||
      !resource.verbs.includes('list')
    )
      continue;
    seen.add(key);
    const items = await listTolerant(cluster, resource, { namespace, ...(signal ? { signal } : {}) });
    for (const item of items) {
      const builtin =
        (item.kind === 'ServiceAccount' && item.metadata.name === 'default') ||
        (item.kind === 'ConfigMap' && item.metadata.name === 'kube-root-ca.crt');
      const generated = Array.isArray(item.metadata.ownerReferences) && item.metadata.ownerReferences.length > 0;
      if (!builtin && !generated && item.metadata.labels?.[LABEL_CREATED] !== 'true') out.push(keyOf(refOf(item)));
    }
  }
  return out;
}
