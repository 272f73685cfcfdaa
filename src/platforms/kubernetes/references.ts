/**
 * What one object needs from others: the edges of the export's dependency closure. Pure: reads
 * the object only. Edges point at objects to export (`object`) or at cluster facilities the target
 * must already have (`requires`: StorageClass, IngressClass, GatewayClass, CRD).
 */
import { asArray, asRecord, dig, isObject, stringOf, type KubeObject } from './objects.js';

export interface Reference {
  kind: string;
  /** Group of the referenced kind ('' for core). */
  group: string;
  name: string;
  /** Namespace for namespaced kinds; undefined for cluster-scoped ones. */
  namespace?: string;
  /** Why: `pod template env`, `roleRef`, `scaleTargetRef`... */
  via: string;
  /** A facility the target cluster must provide rather than an object to copy. */
  requires?: boolean;
}

/** The pod spec inside a workload (or the Pod's own spec). */
export function podSpecOf(object: KubeObject): Record<string, unknown> | undefined {
  switch (object.kind) {
    case 'Pod':
      return isObject(object.spec) ? object.spec : undefined;
    case 'CronJob': {
      const spec = dig(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec');
      return isObject(spec) ? spec : undefined;
    }
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job': {
      const spec = dig(object, 'spec', 'template', 'spec');
      return isObject(spec) ? spec : undefined;
    }
    default:
      return undefined;
  }
}

export function containersOf(podSpec: Record<string, unknown>): Array<Record<string, unknown>> {
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((key) =>
    asArray(podSpec[key]).filter(isObject),
  );
}

function podReferences(spec: Record<string, unknown>, namespace: string | undefined): Reference[] {
  const refs: Reference[] = [];
  const add = (kind: string, name: unknown, via: string): void => {
    const n = stringOf(name);
    if (n) refs.push({ kind, group: '', name: n, ...(namespace ? { namespace } : {}), via });
  };
  add('ServiceAccount', spec.serviceAccountName ?? spec.serviceAccount ?? 'default', 'serviceAccountName');
  for (const secret of asArray(spec.imagePullSecrets)) add('Secret', dig(secret, 'name'), 'imagePullSecrets');
  for (const volume of asArray(spec.volumes).filter(isObject)) {
    add('ConfigMap', dig(volume, 'configMap', 'name'), `volume ${String(volume.name)}`);
    add('Secret', dig(volume, 'secret', 'secretName'), `volume ${String(volume.name)}`);
    add('PersistentVolumeClaim', dig(volume, 'persistentVolumeClaim', 'claimName'), `volume ${String(volume.name)}`);
    for (const source of asArray(dig(volume, 'projected', 'sources'))) {
      add('ConfigMap', dig(source, 'configMap', 'name'), `projected volume ${String(volume.name)}`);
      add('Secret', dig(source, 'secret', 'name'), `projected volume ${String(volume.name)}`);
    }
  }
  for (const container of containersOf(spec)) {
    const where = `container ${String(container.name)}`;
    for (const from of asArray(container.envFrom)) {
      add('ConfigMap', dig(from, 'configMapRef', 'name'), `${where} envFrom`);
      add('Secret', dig(from, 'secretRef', 'name'), `${where} envFrom`);
    }
    for (const env of asArray(container.env)) {
      add('ConfigMap', dig(env, 'valueFrom', 'configMapKeyRef', 'name'), `${where} env ${String(dig(env, 'name'))}`);
      add('Secret', dig(env, 'valueFrom', 'secretKeyRef', 'name'), `${where} env ${String(dig(env, 'name'))}`);
    }
  }
  return refs;
}

export function referencesOf(object: KubeObject): Reference[] {
  const namespace = object.metadata.namespace;
  const ns = namespace ? { namespace } : {};
  const refs: Reference[] = [];
  const podSpec = podSpecOf(object);
  if (podSpec) refs.push(...podReferences(podSpec, namespace));
  const spec = asRecord(object.spec);
  switch (object.kind) {
    case 'StatefulSet':
      for (const claim of asArray(spec.volumeClaimTemplates)) {
        const className = stringOf(dig(claim, 'spec', 'storageClassName'));
        refs.push({
          kind: 'StorageClass',
          group: 'storage.k8s.io',
          name: className ?? '(default)',
          via: `volumeClaimTemplate ${String(dig(claim, 'metadata', 'name'))}`,
          requires: true,
        });
      }
      break;
    case 'PersistentVolumeClaim':
      refs.push({
        kind: 'StorageClass',
        group: 'storage.k8s.io',
        name: stringOf(spec.storageClassName) ?? '(default)',
        via: 'storageClassName',
        requires: true,
      });
      break;
    case 'ServiceAccount':
      for (const secret of [...asArray(object.secrets), ...asArray(object.imagePullSecrets)]) {
        const name = stringOf(dig(secret, 'name'));
        if (name) refs.push({ kind: 'Secret', group: '', name, ...ns, via: 'serviceAccount secrets' });
      }
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const roleKind = stringOf(dig(object, 'roleRef', 'kind'));
      const roleName = stringOf(dig(object, 'roleRef', 'name'));
      if (roleKind && roleName) {
        refs.push({
          kind: roleKind,
          group: 'rbac.authorization.k8s.io',
          name: roleName,
          ...(roleKind === 'Role' ? ns : {}),
          via: 'roleRef',
        });
      }
      break;
    }
    case 'Ingress': {
      const className =
        stringOf(spec.ingressClassName) ?? stringOf(object.metadata.annotations?.['kubernetes.io/ingress.class']);
      if (className)
        refs.push({
          kind: 'IngressClass',
          group: 'networking.k8s.io',
          name: className,
          via: 'ingressClassName',
          requires: true,
        });
      const backends = [
        spec.defaultBackend,
        ...asArray(spec.rules).flatMap((rule) => asArray(dig(rule, 'http', 'paths')).map((p) => dig(p, 'backend'))),
      ];
      for (const backend of backends) {
        const name = stringOf(dig(backend, 'service', 'name'));
        if (name) refs.push({ kind: 'Service', group: '', name, ...ns, via: 'backend' });
      }
      for (const tls of asArray(spec.tls)) {
        const name = stringOf(dig(tls, 'secretName'));
        if (name) refs.push({ kind: 'Secret', group: '', name, ...ns, via: 'tls' });
      }
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const kind = stringOf(dig(spec, 'scaleTargetRef', 'kind'));
      const name = stringOf(dig(spec, 'scaleTargetRef', 'name'));
      const apiVersion = stringOf(dig(spec, 'scaleTargetRef', 'apiVersion')) ?? 'apps/v1';
      if (kind && name)
        refs.push({
          kind,
          group: apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '',
          name,
          ...ns,
          via: 'scaleTargetRef',
        });
      break;
    }
    case 'Gateway': {
      const className = stringOf(spec.gatewayClassName);
      if (className)
        refs.push({
          kind: 'GatewayClass',
          group: 'gateway.networking.k8s.io',
          name: className,
          via: 'gatewayClassName',
          requires: true,
        });
      break;
    }
    case 'HTTPRoute':
      for (const rule of asArray(spec.rules)) {
        for (const backend of asArray(dig(rule, 'backendRefs'))) {
          const name = stringOf(dig(backend, 'name'));
          if (name && (stringOf(dig(backend, 'kind')) ?? 'Service') === 'Service')
            refs.push({ kind: 'Service', group: '', name, ...ns, via: 'backendRefs' });
        }
      }
      break;
    default:
      break;
  }
  return refs;
}

/** True when a Service's selector picks pods with these labels. */
export function selectsPods(service: KubeObject, podLabels: Record<string, unknown>): boolean {
  const selector = asRecord(dig(service, 'spec', 'selector'));
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => podLabels[key] === value);
}

/** Labels of the pods a workload makes. */
export function podLabelsOf(object: KubeObject): Record<string, unknown> {
  if (object.kind === 'Pod') return asRecord(object.metadata.labels);
  if (object.kind === 'CronJob')
    return asRecord(dig(object, 'spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'));
  return asRecord(dig(object, 'spec', 'template', 'metadata', 'labels'));
}
