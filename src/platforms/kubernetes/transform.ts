/**
 * Transform: turns exported source objects into what the target should hold. Strips what the
 * cluster owns (uid, resourceVersion, creationTimestamp, generation, managedFields, status, owner
 * references, cluster IPs, node names, PV bindings, last-applied annotations), then applies the
 * plan's rules in a fixed order: namespace mapping, storage classes (PVCs and StatefulSet
 * volumeClaimTemplates), ingress classes, image registry prefixes (longest prefix first), service
 * account identity annotations (per name, or by an identity rule; pod template labels Azure needs), annotations and labels, `spec.replicas` of workloads an exported
 * HPA scales (the HPA owns it), and RFC 6902 patches selected by kind, name and namespace. Pure; every change is recorded with the rule that made it.
 */
import { InputError } from '../../common/errors.js';
import {
  accountKey,
  annotationChanges,
  identityOf,
  matchIdentity,
  podLabelChange,
  type IdentityMatch,
  type IdentityRule,
} from './identity-rules.js';
import { applyJsonPatch, JsonPatchError, type JsonPatchOperation } from './json-patch.js';
import { asArray, asRecord, describeRef, dig, isObject, refOf, stringOf, type KubeObject } from './objects.js';
import { containersOf, podSpecOf } from './references.js';

export interface Transforms {
  storageClasses?: Record<string, string>;
  ingressClasses?: Record<string, string>;
  images?: Record<string, string>;
  annotations?: Record<string, string | null>;
  labels?: Record<string, string | null>;
  serviceAccounts?: Record<string, Record<string, string>>;
  /** Cloud identity rules (identity-rules.ts); a `serviceAccounts` entry for the same name wins. */
  identities?: IdentityRule[];
  patches?: Array<{ match: { kind?: string; name?: string; namespace?: string }; patch: JsonPatchOperation[] }>;
}

export interface TransformOptions {
  transforms?: Transforms;
  /** Source namespace → target namespace. */
  namespaces?: Record<string, string>;
}

export interface Change {
  /** `apps/v1 Deployment shop/web`. */
  object: string;
  /** The rule: `strip`, `storageClasses.gp3`, `images["123...ecr.../"]`, `patches[0]`... */
  rule: string;
  /** JSON pointer of the changed field. */
  path: string;
  from?: unknown;
  to?: unknown;
}

export interface TransformResult {
  objects: KubeObject[];
  changes: Change[];
}

/** Annotations and labels of provider workload identity on ServiceAccounts. */
export const IDENTITY_ANNOTATIONS = [
  'eks.amazonaws.com/role-arn',
  'iam.gke.io/gcp-service-account',
  'azure.workload.identity/client-id',
  'azure.workload.identity/tenant-id',
];

const strippedMetadata = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
];
const strippedAnnotations = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
];

const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

function glob(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (value === undefined) return false;
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

/** One object being translated, with the helpers that record each change with its rule. */
interface Edit {
  object: KubeObject;
  name: string;
  metadata: Record<string, unknown>;
  annotations: Record<string, unknown>;
  spec: Record<string, unknown>;
  podSpec: Record<string, unknown> | undefined;
  podPointer: string;
  rules: NonNullable<TransformOptions['transforms']>;
  options: TransformOptions;
  /** ServiceAccounts (target `namespace/name`) whose cloud identity a rule maps. */
  identities: Map<string, IdentityMatch>;
  record(rule: string, path: string, from: unknown, to: unknown): void;
  remove(parent: Record<string, unknown>, key: string, pointer: string, rule?: string): void;
  set(parent: Record<string, unknown>, key: string, value: unknown, pointer: string, rule: string): void;
}

function startEdit(
  original: KubeObject,
  options: TransformOptions,
  changes: Change[],
  identities: Map<string, IdentityMatch>,
): Edit {
  const object = structuredClone(original);
  const name = describeRef(refOf(original));
  const record = (rule: string, path: string, from: unknown, to: unknown): void => {
    changes.push({
      object: name,
      rule,
      path,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
  };
  const metadata = object.metadata as Record<string, unknown>;
  return {
    object,
    name,
    metadata,
    annotations: asRecord(metadata.annotations),
    spec: asRecord(object.spec),
    podSpec: podSpecOf(object),
    podPointer:
      object.kind === 'CronJob'
        ? '/spec/jobTemplate/spec/template/spec'
        : object.kind === 'Pod'
          ? '/spec'
          : '/spec/template/spec',
    rules: options.transforms ?? {},
    options,
    identities,
    record,
    remove(parent, key, pointer, rule = 'strip') {
      if (parent[key] === undefined) return;
      record(rule, pointer, rule === 'strip' ? undefined : parent[key], undefined);
      delete parent[key];
    },
    set(parent, key, value, pointer, rule) {
      if (parent[key] === value) return;
      record(rule, pointer, parent[key], value);
      parent[key] = value;
    },
  };
}

/** 1. Strip what the source cluster owns. */
function stripClusterOwned({ object, metadata, annotations, spec, podSpec, podPointer, remove }: Edit): void {
  for (const key of strippedMetadata) remove(metadata, key, `/metadata/${key}`);
  remove(object, 'status', '/status');
  for (const key of strippedAnnotations) remove(annotations, key, `/metadata/annotations/${escape(key)}`);
  if (object.kind === 'Namespace') {
    remove(object, 'spec', '/spec');
    remove(asRecord(metadata.labels), 'kubernetes.io/metadata.name', '/metadata/labels/kubernetes.io~1metadata.name');
  }
  if (object.kind === 'Service') {
    if (spec.clusterIP !== 'None') {
      remove(spec, 'clusterIP', '/spec/clusterIP');
      remove(spec, 'clusterIPs', '/spec/clusterIPs');
    }
    remove(spec, 'healthCheckNodePort', '/spec/healthCheckNodePort');
    if (spec.type !== 'NodePort')
      asArray(spec.ports)
        .filter(isObject)
        .forEach((port, i) => remove(port, 'nodePort', `/spec/ports/${i}/nodePort`));
  }
  if (object.kind === 'PersistentVolumeClaim') remove(spec, 'volumeName', '/spec/volumeName');
  if (podSpec) remove(podSpec, 'nodeName', `${podPointer}/nodeName`);
  if (object.kind === 'StatefulSet') {
    asArray(spec.volumeClaimTemplates)
      .filter(isObject)
      .forEach((claim, i) => remove(claim, 'status', `/spec/volumeClaimTemplates/${i}/status`));
  }
  if (object.kind === 'ServiceAccount') remove(object, 'secrets', '/secrets');
}

/** 2. Namespaces (the object's own, and the subjects of role bindings). */
function mapNamespaces({ object, metadata, options, set }: Edit): void {
  const mapNamespace = (value: unknown, pointer: string, parent: Record<string, unknown>, key: string): void => {
    const mapped = typeof value === 'string' ? options.namespaces?.[value] : undefined;
    if (mapped !== undefined && mapped !== value) set(parent, key, mapped, pointer, `namespaces.${String(value)}`);
  };
  if (object.kind === 'Namespace') mapNamespace(metadata.name, '/metadata/name', metadata, 'name');
  else mapNamespace(metadata.namespace, '/metadata/namespace', metadata, 'namespace');
  if (object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding') {
    asArray(object.subjects)
      .filter(isObject)
      .forEach((subject, i) => {
        mapNamespace(subject.namespace, `/subjects/${i}/namespace`, subject, 'namespace');
        // The namespace inside a service account's user name and its namespace's group.
        const named = stringOf(subject.name)?.match(/^(system:serviceaccounts?:)([^:]+)(:.*)?$/);
        const mapped = named?.[2] === undefined ? undefined : options.namespaces?.[named[2]];
        if (named && mapped !== undefined && mapped !== named[2])
          set(
            subject,
            'name',
            `${named[1]}${mapped}${named[3] ?? ''}`,
            `/subjects/${i}/name`,
            `namespaces.${named[2]}`,
          );
      });
  }
}

/** 3. Storage classes (claims, and StatefulSet claim templates). */
function mapStorageClasses({ object, spec, rules, set }: Edit): void {
  const mapClass = (claimSpec: Record<string, unknown>, pointer: string): void => {
    const current = stringOf(claimSpec.storageClassName);
    const mapped = current === undefined ? undefined : rules.storageClasses?.[current];
    if (current !== undefined && mapped !== undefined)
      set(claimSpec, 'storageClassName', mapped, `${pointer}/storageClassName`, `storageClasses.${current}`);
  };
  if (object.kind === 'PersistentVolumeClaim') mapClass(spec, '/spec');
  if (object.kind === 'StatefulSet') {
    asArray(spec.volumeClaimTemplates)
      .filter(isObject)
      .forEach((claim, i) => {
        if (isObject(claim.spec)) mapClass(claim.spec, `/spec/volumeClaimTemplates/${i}/spec`);
      });
  }
}

/** 4. Ingress classes (field and the legacy annotation). */
function mapIngressClasses({ object, spec, annotations, rules, set }: Edit): void {
  if (object.kind !== 'Ingress') return;
  const current = stringOf(spec.ingressClassName);
  if (current && rules.ingressClasses?.[current] !== undefined)
    set(spec, 'ingressClassName', rules.ingressClasses[current], '/spec/ingressClassName', `ingressClasses.${current}`);
  const legacy = stringOf(annotations['kubernetes.io/ingress.class']);
  if (legacy && rules.ingressClasses?.[legacy] !== undefined) {
    set(
      annotations,
      'kubernetes.io/ingress.class',
      rules.ingressClasses[legacy],
      '/metadata/annotations/kubernetes.io~1ingress.class',
      `ingressClasses.${legacy}`,
    );
  }
}

/** 5. Image registry prefixes, longest first. */
function mapImages({ podSpec, podPointer, rules, set }: Edit): void {
  if (!podSpec) return;
  const prefixes = Object.entries(rules.images ?? {}).sort((a, b) => b[0].length - a[0].length);
  for (const listName of ['initContainers', 'containers', 'ephemeralContainers']) {
    asArray(podSpec[listName])
      .filter(isObject)
      .forEach((container, i) => {
        const image = stringOf(container.image);
        const match = image === undefined ? undefined : prefixes.find(([from]) => image.startsWith(from));
        if (image !== undefined && match)
          set(
            container,
            'image',
            `${match[1]}${image.slice(match[0].length)}`,
            `${podPointer}/${listName}/${i}/image`,
            `images[${JSON.stringify(match[0])}]`,
          );
      });
  }
}

/** 6. Service account identities: an explicit `serviceAccounts` entry, else the first matching identity rule. */
function mapIdentities({ object, annotations, rules, identities, remove, set }: Edit): void {
  if (object.kind !== 'ServiceAccount') return;
  const mapping = rules.serviceAccounts?.[object.metadata.name];
  const match = identities.get(accountKey(object.metadata.namespace, object.metadata.name));
  if (!mapping && match) {
    const rule = `identities[${match.index}]`;
    const change = annotationChanges(match, annotations);
    for (const key of change.remove) remove(annotations, key, `/metadata/annotations/${escape(key)}`, rule);
    for (const [key, value] of change.set) set(annotations, key, value, `/metadata/annotations/${escape(key)}`, rule);
    return;
  }
  if (!mapping) return;
  for (const key of IDENTITY_ANNOTATIONS)
    if (!(key in mapping))
      remove(annotations, key, `/metadata/annotations/${escape(key)}`, `serviceAccounts.${object.metadata.name}`);
  for (const [key, value] of Object.entries(mapping))
    set(annotations, key, value, `/metadata/annotations/${escape(key)}`, `serviceAccounts.${object.metadata.name}`);
}

/** 6b. Pod template labels a mapped identity needs (Azure's `azure.workload.identity/use`). */
function mapPodIdentityLabels({ object, podSpec, identities, remove, set }: Edit): void {
  if (!podSpec) return;
  const account = stringOf(podSpec.serviceAccountName) ?? stringOf(podSpec.serviceAccount) ?? 'default';
  const match = identities.get(accountKey(object.metadata.namespace, account));
  if (!match) return;
  const change = podLabelChange(match);
  const templatePath =
    object.kind === 'Pod'
      ? []
      : object.kind === 'CronJob'
        ? ['spec', 'jobTemplate', 'spec', 'template']
        : ['spec', 'template'];
  const template = templatePath.length === 0 ? object : dig(object, ...templatePath);
  if (!isObject(template)) return;
  const meta = asRecord(template.metadata);
  template.metadata = meta;
  const labels = asRecord(meta.labels);
  meta.labels = labels;
  const metaPointer = `${templatePath.map((p) => `/${p}`).join('')}/metadata`;
  const rule = `identities[${match.index}]`;
  if (change.set) set(labels, change.set[0], change.set[1], `${metaPointer}/labels/${escape(change.set[0])}`, rule);
  if (change.remove) remove(labels, change.remove, `${metaPointer}/labels/${escape(change.remove)}`, rule);
}

/** 7. Annotations and labels (a value sets, null removes); empty maps are dropped. */
function mapAnnotationsAndLabels({ metadata, annotations, rules, remove, set }: Edit): void {
  for (const [key, value] of Object.entries(rules.annotations ?? {})) {
    if (value === null) remove(annotations, key, `/metadata/annotations/${escape(key)}`, `annotations.${key}`);
    else set(annotations, key, value, `/metadata/annotations/${escape(key)}`, `annotations.${key}`);
  }
  const labels = asRecord(metadata.labels);
  for (const [key, value] of Object.entries(rules.labels ?? {})) {
    if (value === null) remove(labels, key, `/metadata/labels/${escape(key)}`, `labels.${key}`);
    else set(labels, key, value, `/metadata/labels/${escape(key)}`, `labels.${key}`);
  }
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  else delete metadata.labels;
}

/** 9. JSON patches selected by kind, name and namespace. */
function applyPatches({ object, name, rules, record }: Edit): KubeObject {
  let result: KubeObject = object;
  (rules.patches ?? []).forEach((entry, index) => {
    const { match } = entry;
    if (
      !glob(match.kind, result.kind) ||
      !glob(match.name, result.metadata.name) ||
      !glob(match.namespace, result.metadata.namespace)
    )
      return;
    try {
      result = applyJsonPatch(result, entry.patch);
    } catch (error) {
      const detail = error instanceof JsonPatchError ? error.message : String(error);
      throw new InputError(`spec.workloads.transforms.patches[${index}]: cannot patch ${name}: ${detail}`);
    }
    for (const operation of entry.patch) {
      if (operation.op !== 'test') record(`patches[${index}]`, operation.path, undefined, operation.value);
    }
  });
  return result;
}

export function transformObjects(input: readonly KubeObject[], options: TransformOptions = {}): TransformResult {
  const changes: Change[] = [];
  const identities = new Map<string, IdentityMatch>();
  for (const account of input.filter((o) => o.kind === 'ServiceAccount')) {
    const identity = identityOf(account);
    const match = identity ? matchIdentity(options.transforms?.identities ?? [], identity) : undefined;
    const namespace = account.metadata.namespace ?? '';
    // Keyed by the target namespace: the edits below run after the namespace mapping.
    if (match && options.transforms?.serviceAccounts?.[account.metadata.name] === undefined)
      identities.set(accountKey(options.namespaces?.[namespace] ?? namespace, account.metadata.name), match);
  }
  // Workloads an exported HPA scales: the HPA owns spec.replicas on the target (applying it would fight the HPA).
  const scaled = new Set(
    input
      .filter((o) => o.kind === 'HorizontalPodAutoscaler')
      .map(
        (hpa) =>
          `${String(dig(hpa, 'spec', 'scaleTargetRef', 'kind'))} ${hpa.metadata.namespace ?? ''}/${String(dig(hpa, 'spec', 'scaleTargetRef', 'name'))}`,
      ),
  );
  const objects = input.map((original) => {
    const edit = startEdit(original, options, changes, identities);
    stripClusterOwned(edit);
    mapNamespaces(edit);
    mapStorageClasses(edit);
    mapIngressClasses(edit);
    mapImages(edit);
    mapIdentities(edit);
    mapPodIdentityLabels(edit);
    mapAnnotationsAndLabels(edit);
    // 8. Replicas of workloads an HPA scales.
    const { object, spec, remove } = edit;
    if (scaled.has(`${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`))
      remove(spec, 'replicas', '/spec/replicas', 'hpa-owns-replicas');
    return applyPatches(edit);
  });
  return { objects, changes };
}

/** Reads an image reference's registry and repository (`registry/repo:tag`). */
export function imagesOf(object: KubeObject): string[] {
  const podSpec = podSpecOf(object);
  return podSpec
    ? containersOf(podSpec)
        .map((c) => stringOf(c.image))
        .filter((i): i is string => i !== undefined)
    : [];
}
