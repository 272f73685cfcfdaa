/**
 * A small stand-in for kube-controller-manager, kubelet and the scheduler: after a short delay it
 * makes ReplicaSets and Pods for Deployments, Pods and PVCs for StatefulSets, Pods for DaemonSets,
 * binds PVCs whose StorageClass exists (creating the PV), gives LoadBalancer Services an address,
 * creates each namespace's `default` ServiceAccount and `kube-root-ca.crt` ConfigMap, and fills
 * the `status` fields clients read (observedGeneration, ready replicas, conditions). It only writes
 * when something changes, so it goes quiet once the cluster has converged.
 */
import { createHash } from 'node:crypto';
import type { Catalog, ResourceType } from './catalog.js';
import type { ObjectApi } from './objects.js';
import type { KubeObject, Store } from './store.js';

type Obj = Record<string, unknown>;

export interface ControllerOptions {
  /** Delay before the controller reacts to a change (default 100 ms). */
  readyDelayMs?: number;
}

export interface Controller {
  /** Objects (`Kind/namespace/name`) the controller leaves not ready, to test bounded waits. */
  hold(kind: string, namespace: string, name: string): void;
  release(kind: string, namespace: string, name: string): void;
  close(): void;
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

const manager = { fieldManager: 'kube-controller-manager', dryRun: false };

export function createController(
  store: Store,
  catalog: Catalog,
  api: ObjectApi,
  options: ControllerOptions = {},
): Controller {
  const delay = options.readyDelayMs ?? 100;
  const timers = new Map<string, NodeJS.Timeout>();
  const held = new Set<string>();
  let closed = false;

  const type = (group: string, plural: string): ResourceType => {
    const found = catalog.all().find((t) => t.group === group && t.plural === plural);
    if (!found) throw new Error(`no type ${group}/${plural}`);
    return found;
  };
  const T = {
    pods: () => type('', 'pods'),
    rs: () => type('apps', 'replicasets'),
    pvc: () => type('', 'persistentvolumeclaims'),
    pv: () => type('', 'persistentvolumes'),
    sc: () => type('storage.k8s.io', 'storageclasses'),
    nodes: () => type('', 'nodes'),
    sa: () => type('', 'serviceaccounts'),
    cm: () => type('', 'configmaps'),
  };

  const putIfChanged = (t: ResourceType, before: KubeObject, after: KubeObject): void => {
    if (JSON.stringify(before) !== JSON.stringify(after)) api.writeStatus(t, after);
  };

  const ownerRef = (owner: KubeObject): Obj => ({
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  });

  const ownedBy = (t: ResourceType, owner: KubeObject): KubeObject[] =>
    store
      .list(t, owner.metadata.namespace)
      .filter(
        (o) =>
          Array.isArray(o.metadata.ownerReferences) &&
          o.metadata.ownerReferences.some((r) => isObject(r) && r.uid === owner.metadata.uid),
      );

  const nodeNames = (): string[] => store.list(T.nodes()).map((n) => n.metadata.name);

  const claimBound = (namespace: string | undefined, claim: string): boolean => {
    const pvc = store.get(T.pvc(), namespace, claim);
    return isObject(pvc?.status) && pvc.status.phase === 'Bound';
  };

  const podReady = (pod: KubeObject): boolean => {
    const spec = isObject(pod.spec) ? pod.spec : {};
    const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isObject) : [];
    return volumes.every(
      (v) =>
        !isObject(v.persistentVolumeClaim) ||
        claimBound(pod.metadata.namespace, String(v.persistentVolumeClaim.claimName)),
    );
  };

  const podStatus = (pod: KubeObject): void => {
    const ready = podReady(pod);
    const spec = isObject(pod.spec) ? pod.spec : {};
    const containers = Array.isArray(spec.containers) ? spec.containers.filter(isObject) : [];
    const previous = isObject(pod.status) ? pod.status : {};
    pod.status = {
      phase: ready ? 'Running' : 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: previous.startTime ?? now() },
        { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: previous.startTime ?? now() },
      ],
      hostIP: '192.0.2.10',
      podIP: `10.244.0.${(pod.metadata.name.length * 7) % 250}`,
      startTime: previous.startTime ?? now(),
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        ready,
        restartCount: 0,
        started: ready,
      })),
    };
  };

  const ensurePods = (
    owner: KubeObject,
    template: Obj,
    names: string[],
    extraVolumes: (name: string) => Obj[],
  ): number => {
    const existing = ownedBy(T.pods(), owner);
    for (const pod of existing) {
      if (!names.includes(pod.metadata.name))
        api.remove(T.pods(), pod.metadata.namespace, pod.metadata.name, { dryRun: false });
    }
    const nodes = nodeNames();
    let ready = 0;
    names.forEach((name, index) => {
      let pod = existing.find((p) => p.metadata.name === name);
      if (!pod) {
        const meta = isObject(template.metadata) ? template.metadata : {};
        const spec = structuredClone(isObject(template.spec) ? template.spec : {});
        const volumes = [...(Array.isArray(spec.volumes) ? spec.volumes : []), ...extraVolumes(name)];
        if (volumes.length > 0) spec.volumes = volumes;
        spec.nodeName = nodes[index % Math.max(nodes.length, 1)] ?? 'node-1';
        pod = api.create(
          T.pods(),
          owner.metadata.namespace,
          {
            metadata: {
              name,
              labels: meta.labels ?? {},
              annotations: meta.annotations,
              ownerReferences: [ownerRef(owner)],
            },
            spec,
          },
          manager,
        );
      }
      const before = structuredClone(pod);
      podStatus(pod);
      putIfChanged(T.pods(), before, pod);
      if (podReady(pod)) ready += 1;
    });
    return ready;
  };

  const templateHash = (template: unknown): string =>
    createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);

  const reconcileDeployment = (t: ResourceType, d: KubeObject): void => {
    const spec = isObject(d.spec) ? d.spec : {};
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const template = isObject(spec.template) ? spec.template : {};
    const hash = templateHash(template);
    const rsName = `${d.metadata.name}-${hash}`;
    for (const old of ownedBy(T.rs(), d)) {
      if (old.metadata.name !== rsName)
        api.remove(T.rs(), old.metadata.namespace, old.metadata.name, { dryRun: false });
    }
    const labels = {
      ...(isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {}),
      'pod-template-hash': hash,
    };
    let rs = store.get(T.rs(), d.metadata.namespace, rsName);
    if (!rs) {
      const selector = isObject(spec.selector) ? structuredClone(spec.selector) : {};
      if (isObject(selector.matchLabels)) selector.matchLabels['pod-template-hash'] = hash;
      rs = api.create(
        T.rs(),
        d.metadata.namespace,
        {
          metadata: { name: rsName, labels, ownerReferences: [ownerRef(d)] },
          spec: {
            replicas: desired,
            selector,
            template: { ...template, metadata: { ...(isObject(template.metadata) ? template.metadata : {}), labels } },
          },
        },
        manager,
      );
    } else if (isObject(rs.spec) && rs.spec.replicas !== desired) {
      rs.spec.replicas = desired;
      rs = api.writeStatus(T.rs(), rs);
    }
    const podTemplate = isObject(rs.spec) && isObject(rs.spec.template) ? rs.spec.template : template;
    const names = Array.from(
      { length: desired },
      (_, i) => `${rsName}-${createHash('sha1').update(`${rsName}${i}`).digest('hex').slice(0, 5)}`,
    );
    const ready = ensurePods(rs, podTemplate, names, () => []);
    const rsBefore = structuredClone(rs);
    rs.status = {
      replicas: desired,
      ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {}),
      fullyLabeledReplicas: desired,
      observedGeneration: rs.metadata.generation,
    };
    putIfChanged(T.rs(), rsBefore, rs);
    const before = structuredClone(d);
    const available = ready >= desired;
    d.status = {
      observedGeneration: d.metadata.generation,
      ...(desired > 0 ? { replicas: desired, updatedReplicas: desired } : {}),
      ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {}),
      ...(desired - ready > 0 ? { unavailableReplicas: desired - ready } : {}),
      conditions: [
        available
          ? {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
        {
          type: 'Progressing',
          status: 'True',
          reason: available ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          message: `ReplicaSet "${rsName}" ${available ? 'has successfully progressed' : 'is progressing'}.`,
        },
      ].map((c) => ({
        ...c,
        lastUpdateTime: timeOf(before, c.type, c.status),
        lastTransitionTime: timeOf(before, c.type, c.status),
      })),
    };
    putIfChanged(t, before, d);
  };

  const timeOf = (object: KubeObject, conditionType: string, status: string): string => {
    const conditions =
      isObject(object.status) && Array.isArray(object.status.conditions) ? object.status.conditions : [];
    const found = conditions.find((c) => isObject(c) && c.type === conditionType && c.status === status);
    return isObject(found) && typeof found.lastTransitionTime === 'string' ? found.lastTransitionTime : now();
  };

  const reconcileStatefulSet = (t: ResourceType, s: KubeObject): void => {
    const spec = isObject(s.spec) ? s.spec : {};
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const template = isObject(spec.template) ? spec.template : {};
    const claims = Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates.filter(isObject) : [];
    const selectorLabels =
      isObject(spec.selector) && isObject(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    const names = Array.from({ length: desired }, (_, i) => `${s.metadata.name}-${i}`);
    for (const podName of names) {
      for (const claim of claims) {
        const claimMeta = isObject(claim.metadata) ? claim.metadata : {};
        const claimName = `${String(claimMeta.name)}-${podName}`;
        if (store.get(T.pvc(), s.metadata.namespace, claimName)) continue;
        api.create(
          T.pvc(),
          s.metadata.namespace,
          { metadata: { name: claimName, labels: { ...selectorLabels } }, spec: structuredClone(claim.spec ?? {}) },
          manager,
        );
      }
    }
    const ready = ensurePods(s, template, names, (podName) =>
      claims.map((claim) => {
        const claimName = String(isObject(claim.metadata) ? claim.metadata.name : '');
        return { name: claimName, persistentVolumeClaim: { claimName: `${claimName}-${podName}` } };
      }),
    );
    const before = structuredClone(s);
    const revision = `${s.metadata.name}-${templateHash(template)}`;
    s.status = {
      observedGeneration: s.metadata.generation,
      replicas: desired,
      ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : { availableReplicas: 0 }),
      currentReplicas: desired,
      updatedReplicas: desired,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    };
    putIfChanged(t, before, s);
  };

  const reconcileDaemonSet = (t: ResourceType, d: KubeObject): void => {
    const spec = isObject(d.spec) ? d.spec : {};
    const nodes = nodeNames();
    const names = nodes.map(
      (node) => `${d.metadata.name}-${createHash('sha1').update(node).digest('hex').slice(0, 5)}`,
    );
    const ready = ensurePods(d, isObject(spec.template) ? spec.template : {}, names, () => []);
    const before = structuredClone(d);
    d.status = {
      observedGeneration: d.metadata.generation,
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: nodes.length,
      updatedNumberScheduled: nodes.length,
      numberReady: ready,
      numberAvailable: ready,
      numberMisscheduled: 0,
    };
    putIfChanged(t, before, d);
  };

  const reconcileClaim = (t: ResourceType, claim: KubeObject): void => {
    if (isObject(claim.status) && claim.status.phase === 'Bound') return;
    const spec = isObject(claim.spec) ? claim.spec : {};
    const classes = store.list(T.sc());
    const className =
      typeof spec.storageClassName === 'string'
        ? spec.storageClassName
        : classes.find(
            (c) =>
              isObject(c.metadata.annotations) &&
              c.metadata.annotations['storageclass.kubernetes.io/is-default-class'] === 'true',
          )?.metadata.name;
    const storageClass = classes.find((c) => c.metadata.name === className);
    if (!storageClass) return;
    const requests = isObject(spec.resources) && isObject(spec.resources.requests) ? spec.resources.requests : {};
    const pvName = `pvc-${String(claim.metadata.uid)}`;
    if (!store.get(T.pv(), undefined, pvName)) {
      api.create(
        T.pv(),
        undefined,
        {
          metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': storageClass.provisioner } },
          spec: {
            capacity: { storage: requests.storage ?? '1Gi' },
            accessModes: spec.accessModes ?? ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
            storageClassName: className,
            volumeMode: spec.volumeMode ?? 'Filesystem',
            claimRef: {
              kind: 'PersistentVolumeClaim',
              namespace: claim.metadata.namespace,
              name: claim.metadata.name,
              uid: claim.metadata.uid,
              apiVersion: 'v1',
            },
            csi: { driver: storageClass.provisioner, volumeHandle: pvName },
          },
        },
        manager,
      );
    }
    claim.spec = {
      ...spec,
      volumeName: pvName,
      ...(spec.storageClassName === undefined ? { storageClassName: className } : {}),
    };
    claim.metadata.annotations = {
      ...(isObject(claim.metadata.annotations) ? claim.metadata.annotations : {}),
      'pv.kubernetes.io/bind-completed': 'yes',
    };
    claim.status = {
      phase: 'Bound',
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: requests.storage ?? '1Gi' },
    };
    api.writeStatus(t, claim);
    // Pods waiting for this claim may now become ready.
    for (const owner of ['statefulsets'])
      for (const s of store.list(type('apps', owner), claim.metadata.namespace)) schedule('apps', owner, s);
  };

  const reconcileService = (t: ResourceType, service: KubeObject): void => {
    const spec = isObject(service.spec) ? service.spec : {};
    if (spec.type !== 'LoadBalancer') return;
    const before = structuredClone(service);
    service.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }] } };
    putIfChanged(t, before, service);
  };

  const reconcileNamespace = (ns: KubeObject): void => {
    if (ns.metadata.deletionTimestamp) {
      api.finalizeNamespace(ns.metadata.name);
      return;
    }
    const name = ns.metadata.name;
    if (!store.get(T.sa(), name, 'default')) api.create(T.sa(), name, { metadata: { name: 'default' } }, manager);
    if (!store.get(T.cm(), name, 'kube-root-ca.crt')) {
      api.create(
        T.cm(),
        name,
        {
          metadata: {
            name: 'kube-root-ca.crt',
            annotations: {
              'kubernetes.io/description':
                'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
            },
          },
          data: { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB (test server)\n-----END CERTIFICATE-----\n' },
        },
        manager,
      );
    }
  };

  const reconcile = (group: string, plural: string, namespace: string | undefined, name: string): void => {
    const t = catalog.all().find((x) => x.group === group && x.plural === plural);
    if (!t) return;
    const object = store.get(t, namespace, name);
    if (!object || held.has(`${t.kind}/${namespace ?? ''}/${name}`)) return;
    switch (`${group}/${plural}`) {
      case 'apps/deployments':
        return reconcileDeployment(t, object);
      case 'apps/statefulsets':
        return reconcileStatefulSet(t, object);
      case 'apps/daemonsets':
        return reconcileDaemonSet(t, object);
      case '/persistentvolumeclaims':
        return reconcileClaim(t, object);
      case '/services':
        return reconcileService(t, object);
      case '/namespaces':
        return reconcileNamespace(object);
      default:
        return;
    }
  };

  const watched = new Set([
    'apps/deployments',
    'apps/statefulsets',
    'apps/daemonsets',
    '/persistentvolumeclaims',
    '/services',
    '/namespaces',
  ]);

  const schedule = (group: string, plural: string, object: KubeObject): void => {
    if (closed) return;
    const key = `${group}/${plural}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (timers.has(key)) return;
    const timer = setTimeout(() => {
      timers.delete(key);
      try {
        reconcile(group, plural, object.metadata.namespace, object.metadata.name);
      } catch {
        // A concurrent change (object deleted, namespace gone): the next event reconciles again.
      }
    }, delay);
    timers.set(key, timer);
  };

  const unsubscribe = store.subscribe((event) => {
    if (event.type === 'DELETED' || !watched.has(event.typeKey)) return;
    const [group = '', plural = ''] = event.typeKey.split('/');
    schedule(group, plural, event.object);
  });

  return {
    hold: (kind, namespace, name) => void held.add(`${kind}/${namespace}/${name}`),
    release: (kind, namespace, name) => {
      held.delete(`${kind}/${namespace}/${name}`);
      const t = catalog.all().find((x) => x.kind === kind && ['apps', ''].includes(x.group));
      const object = t ? store.get(t, namespace, name) : undefined;
      if (t && object) schedule(t.group, t.plural, object);
    },
    close: () => {
      closed = true;
      unsubscribe();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
