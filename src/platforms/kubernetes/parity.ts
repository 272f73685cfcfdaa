/**
 * Parity: what differs between the source and target clusters that matters for the exported
 * workloads, as findings with stable `k8s.*` ids. Read-only. Checks: server versions and skew;
 * every apiVersion/kind the translated objects use, served by the target; CRDs; StorageClasses
 * (used, mapped, missing; provisioner, binding mode, expansion); IngressClasses and GatewayClasses;
 * NetworkPolicies on the source; Pod Security labels; ResourceQuotas and LimitRanges on the
 * target; node architectures and allocatable capacity; LoadBalancer provider annotations;
 * ServiceAccount cloud identities (identity-findings.ts) and effective RBAC (rbac-drift.ts).
 */
import type { Finding } from '../../common/findings.js';
import type { Cluster } from './cluster.js';
import { otherVersions } from './discovery.js';
import type { ExportResult } from './export.js';
import { describeRef, dig, refOf, type KubeObject } from './objects.js';
import { checkCapacity } from './parity-capacity.js';
import { identityFindings as cloudIdentityFindings } from './identity-findings.js';
import { rbacDriftFindings } from './rbac-drift.js';
import type { Transforms } from './transform.js';

export interface ParityInput {
  source: Cluster;
  target: Cluster;
  exported: ExportResult;
  /** The exported objects after transform (what would be applied). */
  translated: KubeObject[];
  transforms?: Transforms;
  signal?: AbortSignal;
}

/** APIs removed from Kubernetes, with the release that removed them and the replacement. */
const removedApis: Record<string, { removedIn: number; use: string }> = {
  'extensions/v1beta1': { removedIn: 16, use: 'apps/v1 or networking.k8s.io/v1' },
  'apps/v1beta1': { removedIn: 16, use: 'apps/v1' },
  'apps/v1beta2': { removedIn: 16, use: 'apps/v1' },
  'networking.k8s.io/v1beta1': { removedIn: 22, use: 'networking.k8s.io/v1' },
  'rbac.authorization.k8s.io/v1beta1': { removedIn: 22, use: 'rbac.authorization.k8s.io/v1' },
  'batch/v1beta1': { removedIn: 25, use: 'batch/v1' },
  'policy/v1beta1': { removedIn: 25, use: 'policy/v1' },
  'autoscaling/v2beta1': { removedIn: 25, use: 'autoscaling/v2' },
  'autoscaling/v2beta2': { removedIn: 26, use: 'autoscaling/v2' },
  'storage.k8s.io/v1beta1': { removedIn: 22, use: 'storage.k8s.io/v1' },
};

const providerAnnotationPrefixes = [
  'service.beta.kubernetes.io/aws-',
  'service.beta.kubernetes.io/azure-',
  'cloud.google.com/',
  'networking.gke.io/',
  'service.kubernetes.io/ibm-',
  'service.beta.kubernetes.io/oci-',
];

/** The cloud a cluster runs on, from its nodes' providerID or its storage provisioners. */
async function providerOf(cluster: Cluster, classes: KubeObject[], signal?: AbortSignal): Promise<string | undefined> {
  const nodes = await cluster.list('v1', 'Node', signal ? { signal } : {});
  const hints = [
    ...nodes.map((n) => String(dig(n, 'spec', 'providerID') ?? '')),
    ...classes.map((c) => String(c.provisioner ?? '')),
  ];
  for (const [provider, pattern] of [
    ['aws', /^aws:|\.aws\.com|amazonaws/],
    ['gcp', /^gce:|gke\.io|csi\.storage\.gke/],
    ['azure', /^azure:|azure|disk\.csi\.azure/],
  ] as const) {
    if (hints.some((hint) => pattern.test(hint))) return provider;
  }
  return undefined;
}

interface ParityContext {
  input: ParityInput;
  source: Cluster;
  target: Cluster;
  translated: KubeObject[];
  sig: { signal?: AbortSignal };
  add(finding: Finding): void;
}

interface StorageClasses {
  sourceClasses: KubeObject[];
  targetClasses: KubeObject[];
}

/** Nothing to move is a mistake to stop on, not a success (clusterctl's "moved 0" reports). */
function selectionFindings(c: ParityContext): void {
  const { input, source, translated, add } = c;
  for (const name of input.exported.missingNamespaces) {
    add({
      id: 'k8s.namespace-missing',
      severity: 'blocker',
      subject: `Namespace ${name}`,
      message: `the source cluster ${source.client.context} has no namespace ${name}`,
      remediation: 'fix spec.source.platform.namespace or spec.workloads.namespaces',
    });
  }
  if (input.exported.selected === 0 && input.exported.missingNamespaces.length === 0) {
    add({
      id: 'k8s.nothing-selected',
      severity: 'blocker',
      subject: 'spec.workloads.selector',
      message: `no object in ${[...new Set(translated.map((o) => o.metadata.namespace).filter(Boolean))].join(', ') || 'the plan namespaces'} matches the selector`,
      remediation: 'fix spec.workloads.selector (labels must all match) or remove it to take the whole namespace',
    });
  }
}

/** Versions and skew. */
function versionFindings(c: ParityContext): void {
  const { source, target, add } = c;
  const sv = source.discovery.version;
  const tv = target.discovery.version;
  add({
    id: 'k8s.server-version',
    severity: 'info',
    subject: 'source',
    message: `source ${source.client.context} runs Kubernetes ${sv.gitVersion}`,
    remediation: '',
  });
  add({
    id: 'k8s.server-version',
    severity: 'info',
    subject: 'target',
    message: `target ${target.client.context} runs Kubernetes ${tv.gitVersion}`,
    remediation: '',
  });
  if (tv.major === sv.major && tv.minor < sv.minor) {
    add({
      id: 'k8s.version-downgrade',
      severity: 'warning',
      subject: 'target',
      message: `the target (1.${tv.minor}) is older than the source (1.${sv.minor}); fields and APIs added since may be dropped or refused`,
      remediation:
        'upgrade the target, or check the translated manifests with `handoff export` against the target version',
    });
  } else if (tv.major === sv.major && tv.minor - sv.minor > 3) {
    add({
      id: 'k8s.version-skew',
      severity: 'warning',
      subject: 'target',
      message: `the target (1.${tv.minor}) is ${tv.minor - sv.minor} minor versions ahead of the source (1.${sv.minor}); APIs deprecated in between may have been removed`,
      remediation: 'review the k8s.api-* findings and the release notes in between',
    });
  }
}

/** Every apiVersion/kind the translated objects use. */
function apiFindings(c: ParityContext): void {
  const { input, target, translated, add } = c;
  const usage = new Map<string, KubeObject[]>();
  for (const object of translated)
    usage.set(`${object.apiVersion} ${object.kind}`, [
      ...(usage.get(`${object.apiVersion} ${object.kind}`) ?? []),
      object,
    ]);
  for (const [gvk, objects] of usage) {
    const sample = objects[0] as KubeObject;
    const removed = removedApis[sample.apiVersion];
    if (removed) {
      add({
        id: 'k8s.api-deprecated',
        severity: 'warning',
        subject: gvk,
        message: `${gvk} is deprecated and removed in Kubernetes 1.${removed.removedIn} (${objects.length} object(s))`,
        remediation: `convert to ${removed.use} (a transforms.patches entry, or update the source)`,
      });
    }
    if (target.discovery.find(sample.apiVersion, sample.kind)) continue;
    const isCustom = input.exported.requires.some(
      (r) =>
        r.kind === 'CustomResourceDefinition' &&
        objects.some((o) => r.by.some((b) => b.startsWith(describeRef(refOf(o))))),
    );
    if (isCustom) continue; // reported as k8s.crd-missing below
    const others = otherVersions(target.discovery, sample);
    add({
      id: 'k8s.api-not-served',
      severity: 'blocker',
      subject: gvk,
      message: `the target does not serve ${gvk}, used by ${objects
        .slice(0, 3)
        .map((o) => describeRef(refOf(o)))
        .join(', ')}${objects.length > 3 ? ', ...' : ''}${others.length ? `; it serves ${others.join(', ')}` : ''}`,
      remediation: others.length
        ? `convert the objects to ${others[0] ?? ''} with a transforms.patches entry (op replace /apiVersion) or on the source`
        : `install what provides ${gvk} on the target, or leave these objects out`,
    });
  }
}

/** CRDs the custom resources need. */
async function crdFindings(c: ParityContext): Promise<void> {
  const { input, target, translated, sig, add } = c;
  const targetCrds = target.discovery.find('apiextensions.k8s.io/v1', 'CustomResourceDefinition')
    ? await target.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition', sig)
    : [];
  for (const requirement of input.exported.requires.filter((r) => r.kind === 'CustomResourceDefinition')) {
    const crd = targetCrds.find((c) => c.metadata.name === requirement.name);
    const used = translated.filter((o) => requirement.by.some((b) => b.startsWith(describeRef(refOf(o)))));
    const versions = [...new Set(used.map((o) => o.apiVersion))];
    if (!crd) {
      add({
        id: 'k8s.crd-missing',
        severity: 'blocker',
        subject: requirement.name,
        message: `the target has no CustomResourceDefinition ${requirement.name}, needed by ${requirement.by.slice(0, 3).join(', ')}`,
        remediation: 'install the operator (or CRD) that provides it on the target before the run',
      });
      continue;
    }
    const served = (Array.isArray(dig(crd, 'spec', 'versions')) ? (dig(crd, 'spec', 'versions') as unknown[]) : [])
      .filter((v) => dig(v, 'served') !== false)
      .map((v) => `${String(dig(crd, 'spec', 'group'))}/${String(dig(v, 'name'))}`);
    for (const version of versions.filter((v) => !served.includes(v))) {
      add({
        id: 'k8s.crd-version-missing',
        severity: 'blocker',
        subject: requirement.name,
        message: `the target's ${requirement.name} does not serve ${version} (it serves ${served.join(', ') || 'nothing'})`,
        remediation: 'upgrade the operator on the target to a version that serves it, or convert the resources',
      });
    }
  }
}

/** StorageClasses: present or mapped, binding mode, expansion. */
async function storageClassFindings(c: ParityContext): Promise<StorageClasses> {
  const { input, source, target, sig, add } = c;
  const sourceClasses = await source.list('storage.k8s.io/v1', 'StorageClass', sig);
  const targetClasses = await target.list('storage.k8s.io/v1', 'StorageClass', sig);
  const isDefault = (c: KubeObject): boolean =>
    c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
  for (const requirement of input.exported.requires.filter((r) => r.kind === 'StorageClass')) {
    const sourceName =
      requirement.name === '(default)' ? sourceClasses.find(isDefault)?.metadata.name : requirement.name;
    const mapped = sourceName ? input.transforms?.storageClasses?.[sourceName] : undefined;
    const targetName = requirement.name === '(default)' ? undefined : (mapped ?? requirement.name);
    const targetClass = targetName
      ? targetClasses.find((c) => c.metadata.name === targetName)
      : targetClasses.find(isDefault);
    const sourceClass = sourceClasses.find((c) => c.metadata.name === sourceName);
    const subject = `StorageClass ${requirement.name}`;
    if (!targetClass) {
      add({
        id: requirement.name === '(default)' ? 'k8s.storage-class-no-default' : 'k8s.storage-class-missing',
        severity: 'blocker',
        subject,
        message: mapped
          ? `StorageClass ${sourceName ?? ''} is mapped to ${mapped}, which the target does not have (needed by ${requirement.by.slice(0, 2).join(', ')})`
          : requirement.name === '(default)'
            ? `claims without a storageClassName need a default StorageClass, and the target has none (${requirement.by.slice(0, 2).join(', ')})`
            : `the target has no StorageClass ${requirement.name} and spec.workloads.transforms.storageClasses does not map it (needed by ${requirement.by.slice(0, 2).join(', ')})`,
        remediation: `map it in spec.workloads.transforms.storageClasses (${sourceName ?? requirement.name}: <a target class>; the target has ${targetClasses.map((c) => c.metadata.name).join(', ') || 'none'}) or create it on the target`,
      });
      continue;
    }
    if (mapped)
      add({
        id: 'k8s.storage-class-mapped',
        severity: 'info',
        subject,
        message: `${sourceName ?? ''} (${String(sourceClass?.provisioner ?? '?')}) becomes ${mapped} (${String(targetClass.provisioner)})`,
        remediation: '',
      });
    if (
      sourceClass &&
      (sourceClass.volumeBindingMode ?? 'Immediate') !== (targetClass.volumeBindingMode ?? 'Immediate')
    ) {
      add({
        id: 'k8s.storage-class-binding-mode',
        severity: 'warning',
        subject,
        message: `binding mode ${String(sourceClass.volumeBindingMode ?? 'Immediate')} on the source, ${String(targetClass.volumeBindingMode ?? 'Immediate')} on the target (${targetClass.metadata.name}); volumes may be created in another zone than the pods`,
        remediation: 'prefer WaitForFirstConsumer on the target class',
      });
    }
    if (sourceClass?.allowVolumeExpansion === true && targetClass.allowVolumeExpansion !== true) {
      add({
        id: 'k8s.storage-class-expansion',
        severity: 'warning',
        subject,
        message: `volumes can grow on the source but not with ${targetClass.metadata.name} on the target`,
        remediation: 'set allowVolumeExpansion: true on the target class, or size the claims for growth now',
      });
    }
  }
  return { sourceClasses, targetClasses };
}

/** IngressClasses and GatewayClasses. */
async function classFindings(c: ParityContext): Promise<void> {
  const { input, target, sig, add } = c;
  for (const [kind, apiVersion, id, rule] of [
    ['IngressClass', 'networking.k8s.io/v1', 'k8s.ingress-class-missing', 'ingressClasses'],
    ['GatewayClass', 'gateway.networking.k8s.io/v1', 'k8s.gateway-class-missing', undefined],
  ] as const) {
    const needed = input.exported.requires.filter((r) => r.kind === kind);
    if (needed.length === 0) continue;
    const available = target.discovery.find(apiVersion, kind)
      ? (await target.list(apiVersion, kind, sig)).map((c) => c.metadata.name)
      : [];
    for (const requirement of needed) {
      const mapped = rule ? input.transforms?.[rule]?.[requirement.name] : undefined;
      const name = mapped ?? requirement.name;
      if (available.includes(name)) continue;
      add({
        id,
        severity: 'blocker',
        subject: `${kind} ${requirement.name}`,
        message: `the target has no ${kind} ${name}${mapped ? ` (mapped from ${requirement.name})` : ''}, used by ${requirement.by.slice(0, 2).join(', ')}`,
        remediation: `${rule ? `map it in spec.workloads.transforms.${rule} or ` : ''}install it on the target (the target has ${available.join(', ') || 'none'})`,
      });
    }
  }
}

/** NetworkPolicies and Pod Security labels. */
async function policyFindings(c: ParityContext): Promise<void> {
  const { input, target, translated, add } = c;
  const policies = translated.filter((o) => o.kind === 'NetworkPolicy');
  if (policies.length > 0) {
    add({
      id: 'k8s.network-policies-present',
      severity: 'warning',
      subject: 'source',
      message: `${policies.length} NetworkPolicy object(s) will be applied; they only isolate pods if the target's network plugin enforces them`,
      remediation: 'check that the target CNI enforces NetworkPolicy (e.g. Dataplane V2 / Calico / Cilium)',
    });
  }
  const levels = ['privileged', 'baseline', 'restricted'];
  for (const namespace of translated.filter((o) => o.kind === 'Namespace')) {
    const live = await target.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace.metadata.name }, input.signal);
    const wanted = namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'] ?? 'privileged';
    const existing = live?.metadata.labels?.['pod-security.kubernetes.io/enforce'];
    if (existing && levels.indexOf(existing) > levels.indexOf(wanted)) {
      add({
        id: 'k8s.pod-security-stricter',
        severity: 'warning',
        subject: `Namespace ${namespace.metadata.name}`,
        message: `the target namespace enforces Pod Security "${existing}", the source "${wanted}"; pods that pass on the source may be refused`,
        remediation: 'make the pods meet the stricter level, or align the namespace labels',
      });
    }
  }
}

/** LoadBalancer Services with provider annotations; cloud identities and RBAC of the ServiceAccounts. */
async function identityFindings(c: ParityContext, classes: StorageClasses): Promise<void> {
  const { input, source, target, translated, add } = c;
  for (const service of translated.filter((o) => o.kind === 'Service' && dig(o, 'spec', 'type') === 'LoadBalancer')) {
    const provider = Object.keys(service.metadata.annotations ?? {}).filter((key) =>
      providerAnnotationPrefixes.some((p) => key.startsWith(p)),
    );
    if (provider.length > 0) {
      add({
        id: 'k8s.load-balancer-annotations',
        severity: 'warning',
        subject: describeRef(refOf(service)),
        message: `LoadBalancer Service carries provider-specific annotations ${provider.join(', ')}; another provider ignores them or reads them differently`,
        remediation: 'translate them with spec.workloads.transforms.annotations (null removes one)',
      });
    }
  }
  const sourceProvider = await providerOf(source, classes.sourceClasses, input.signal);
  const targetProvider = await providerOf(target, classes.targetClasses, input.signal);
  for (const finding of await cloudIdentityFindings({
    source,
    exported: input.exported.objects,
    translated,
    transforms: input.transforms,
    sourceProvider,
    targetProvider,
    ...c.sig,
  }))
    add(finding);
  for (const finding of await rbacDriftFindings({
    source,
    target,
    exported: input.exported.objects,
    translated,
    ...c.sig,
  }))
    add(finding);
}

/** Capacity of the target for the translated workloads at their source replica counts. */
async function capacityFindings(c: ParityContext): Promise<void> {
  const { input, target, translated, add } = c;
  const replicasBySource = new Map(
    translated.map((object, i) => [object, dig(input.exported.objects[i], 'spec', 'replicas')]),
  );
  const sourceReplicas = (object: KubeObject): number | undefined => {
    const value = replicasBySource.get(object);
    return typeof value === 'number' ? value : undefined;
  };
  for (const finding of await checkCapacity(target, translated, input.signal, sourceReplicas)) add(finding);
}

export async function checkParity(input: ParityInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const c: ParityContext = {
    input,
    source: input.source,
    target: input.target,
    translated: input.translated,
    sig: input.signal ? { signal: input.signal } : {},
    add: (finding) => void findings.push(finding),
  };
  selectionFindings(c);
  versionFindings(c);
  apiFindings(c);
  await crdFindings(c);
  const classes = await storageClassFindings(c);
  await classFindings(c);
  await policyFindings(c);
  await identityFindings(c, classes);
  await capacityFindings(c);
  return findings;
}
