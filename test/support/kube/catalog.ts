/**
 * The resource types the Kubernetes API test server serves: the built-in groups, and custom
 * resources added when their CustomResourceDefinition is created.
 */

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Has a /status subresource (status is only written through it). */
  status?: boolean;
  /** Has a /scale subresource. */
  scale?: boolean;
  /** Served but deprecated (a warning header is sent). */
  deprecated?: string;
}

const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function t(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return { group, version, kind, plural, singular: kind.toLowerCase(), namespaced, ...extra };
}

/** Built-in resource types, roughly what a 1.31 cluster serves for the groups handoff reads. */
export const builtinTypes: readonly ResourceType[] = [
  t('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], status: true }),
  t('', 'v1', 'Pod', 'pods', true, { shortNames: ['po'], categories: ['all'], status: true }),
  t('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], status: true }),
  t('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  t('', 'v1', 'Secret', 'secrets', true),
  t('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  t('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], status: true }),
  t('', 'v1', 'PersistentVolume', 'persistentvolumes', false, { shortNames: ['pv'], status: true }),
  t('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], status: true }),
  t('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], status: true }),
  t('', 'v1', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] }),
  t('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  t('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  t('apps', 'v1', 'Deployment', 'deployments', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    status: true,
    scale: true,
  }),
  t('apps', 'v1', 'StatefulSet', 'statefulsets', true, {
    shortNames: ['sts'],
    categories: ['all'],
    status: true,
    scale: true,
  }),
  t('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ['all'], status: true }),
  t('apps', 'v1', 'ReplicaSet', 'replicasets', true, {
    shortNames: ['rs'],
    categories: ['all'],
    status: true,
    scale: true,
  }),
  t('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  t('batch', 'v1', 'Job', 'jobs', true, { categories: ['all'], status: true }),
  t('batch', 'v1', 'CronJob', 'cronjobs', true, { shortNames: ['cj'], categories: ['all'], status: true }),
  t('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], status: true }),
  t('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', false),
  t('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  t('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, { shortNames: ['sc'] }),
  t('storage.k8s.io', 'v1', 'CSIDriver', 'csidrivers', false),
  t('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  t('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  t('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, { shortNames: ['pdb'], status: true }),
  t('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, {
    shortNames: ['hpa'],
    categories: ['all'],
    status: true,
  }),
  t('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, {
    shortNames: ['hpa'],
    categories: ['all'],
    status: true,
  }),
  t('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd', 'crds'],
    status: true,
  }),
];

/** Types older clusters served and newer ones removed; a test server may add them back. */
export const legacyTypes: readonly ResourceType[] = [
  t('autoscaling', 'v2beta2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, {
    shortNames: ['hpa'],
    status: true,
    deprecated:
      'autoscaling/v2beta2 HorizontalPodAutoscaler is deprecated in v1.23+, unavailable in v1.26+; use autoscaling/v2 HorizontalPodAutoscaler',
  }),
  t('policy', 'v1beta1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, {
    shortNames: ['pdb'],
    status: true,
    deprecated:
      'policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+, unavailable in v1.25+; use policy/v1 PodDisruptionBudget',
  }),
];

export function groupVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `deployments.apps`, `pods`: how the real server names a resource in messages. */
export function qualifiedResource(type: ResourceType): string {
  return type.group === '' ? type.plural : `${type.plural}.${type.group}`;
}

export function verbsOf(): string[] {
  return [...verbs];
}

/** The mutable set of served types (built-ins plus CRD-defined ones). */
export interface Catalog {
  all(): ResourceType[];
  find(group: string, version: string, plural: string): ResourceType | undefined;
  byKind(apiVersion: string, kind: string): ResourceType | undefined;
  groupVersions(): Array<{ group: string; versions: string[] }>;
  add(type: ResourceType): void;
  removeGroupResource(group: string, plural: string): void;
}

export interface CatalogOptions {
  /** group/version strings (`autoscaling/v2`) or group/version/plural to leave out. */
  drop?: string[];
  /** Extra types, for example from `legacyTypes`. */
  add?: ResourceType[];
}

export function createCatalog(options: CatalogOptions = {}): Catalog {
  const drop = new Set(options.drop ?? []);
  let types = [...builtinTypes, ...(options.add ?? [])].filter(
    (type) => !drop.has(groupVersionOf(type)) && !drop.has(`${groupVersionOf(type)}/${type.plural}`),
  );
  return {
    all: () => [...types],
    find: (group, version, plural) =>
      types.find((type) => type.group === group && type.version === version && type.plural === plural),
    byKind: (apiVersion, kind) => types.find((type) => groupVersionOf(type) === apiVersion && type.kind === kind),
    groupVersions: () => {
      const groups = new Map<string, string[]>();
      for (const type of types) {
        const versions = groups.get(type.group) ?? [];
        if (!versions.includes(type.version)) versions.push(type.version);
        groups.set(type.group, versions);
      }
      return [...groups].map(([group, versions]) => ({ group, versions }));
    },
    add: (type) => {
      types = types.filter(
        (existing) =>
          !(existing.group === type.group && existing.version === type.version && existing.plural === type.plural),
      );
      types.push(type);
    },
    removeGroupResource: (group, plural) => {
      types = types.filter((type) => !(type.group === group && type.plural === plural));
    },
  };
}
