/**
 * Capacity parity: the translated workloads' resource requests against the target's
 * ResourceQuotas, LimitRanges, node allocatable capacity, and node architectures (for images whose
 * reference says they are built for one architecture only).
 */
import type { Finding } from '../../common/findings.js';
import type { Cluster } from './cluster.js';
import { asArray, asRecord, describeRef, dig, refOf, stringOf, type KubeObject } from './objects.js';
import { containersOf, podSpecOf } from './references.js';

/** Kubernetes quantities: `250m`, `1.5`, `512Mi`, `1G`, `2e3`. */
export function parseQuantity(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return 0;
  const match = /^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$/.exec(value.trim());
  if (!match) return 0;
  const n = Number(match[1]);
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
  };
  return n * (units[match[2] ?? ''] ?? 1);
}

interface Demand {
  object: KubeObject;
  replicas: number;
  perPod: Record<string, number>;
  images: string[];
}

function demands(objects: KubeObject[], sourceReplicas: (object: KubeObject) => number | undefined): Demand[] {
  return objects.flatMap((object) => {
    const podSpec = podSpecOf(object);
    if (!podSpec || object.kind === 'CronJob' || object.kind === 'Job') return [];
    // Without spec.replicas (an HPA owns it), expect what runs on the source now.
    const replicas =
      object.kind === 'DaemonSet' ? 1 : Number(dig(object, 'spec', 'replicas') ?? sourceReplicas(object) ?? 1);
    const perPod: Record<string, number> = {};
    for (const container of containersOf(podSpec)) {
      for (const [kind, section] of [
        ['requests', 'requests'],
        ['limits', 'limits'],
      ] as const) {
        for (const [resource, quantity] of Object.entries(asRecord(dig(container, 'resources', section)))) {
          const key = `${kind}.${resource}`;
          perPod[key] = (perPod[key] ?? 0) + parseQuantity(quantity);
        }
      }
    }
    return [{ object, replicas, perPod, images: containersOf(podSpec).map((c) => stringOf(c.image) ?? '') }];
  });
}

/** `-amd64`, `_arm64`, `linux-arm64` in a tag or repository name. */
export function imageArchitecture(image: string): string | undefined {
  const match = /(?:^|[-_/:.])(amd64|arm64|aarch64|x86_64|ppc64le|s390x)(?:$|[-_/:.@])/.exec(
    image.split('@')[0] ?? image,
  );
  if (!match) return undefined;
  const arch = match[1] ?? '';
  return arch === 'aarch64' ? 'arm64' : arch === 'x86_64' ? 'amd64' : arch;
}

export async function checkCapacity(
  target: Cluster,
  objects: KubeObject[],
  signal?: AbortSignal,
  sourceReplicas: (object: KubeObject) => number | undefined = () => undefined,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const sig = signal ? { signal } : {};
  const all = demands(objects, sourceReplicas);
  const namespaces = [...new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => n !== undefined))];
  for (const namespace of namespaces) {
    const inNamespace = all.filter((d) => d.object.metadata.namespace === namespace);
    const total: Record<string, number> = { pods: 0 };
    for (const demand of inNamespace) {
      total.pods = (total.pods ?? 0) + demand.replicas;
      for (const [key, value] of Object.entries(demand.perPod))
        total[key] = (total[key] ?? 0) + value * demand.replicas;
    }
    for (const kind of objects.filter((o) => o.metadata.namespace === namespace)) {
      const key = `count/${kind.kind.toLowerCase()}s${kind.apiVersion.includes('/') ? `.${kind.apiVersion.split('/')[0] ?? ''}` : ''}`;
      total[key] = (total[key] ?? 0) + 1;
    }
    for (const quota of await target.list('v1', 'ResourceQuota', { namespace, ...sig })) {
      const hard = asRecord(dig(quota, 'spec', 'hard'));
      const used = asRecord(dig(quota, 'status', 'used'));
      for (const [resource, limit] of Object.entries(hard)) {
        const needed = total[resource] ?? total[resource.replace(/^(cpu|memory)$/, 'requests.$1')] ?? 0;
        const free = parseQuantity(limit) - parseQuantity(used[resource] ?? '0');
        if (needed > free) {
          findings.push({
            id: 'k8s.quota-exceeded',
            severity: 'blocker',
            subject: `ResourceQuota ${namespace}/${quota.metadata.name}`,
            message: `the workloads need ${resource} ${formatAmount(resource, needed)} and the target quota leaves ${formatAmount(resource, Math.max(0, free))} (hard ${String(limit)})`,
            remediation: `raise ${resource} in ResourceQuota ${quota.metadata.name} on the target, or lower replicas/requests with a transforms.patches entry`,
          });
        }
      }
    }
    for (const range of await target.list('v1', 'LimitRange', { namespace, ...sig })) {
      for (const limit of asArray(dig(range, 'spec', 'limits'))) {
        if (dig(limit, 'type') !== 'Container') continue;
        for (const [resource, max] of Object.entries(asRecord(dig(limit, 'max')))) {
          for (const demand of inNamespace) {
            const podSpec = podSpecOf(demand.object);
            for (const container of podSpec ? containersOf(podSpec) : []) {
              const asked = Math.max(
                parseQuantity(dig(container, 'resources', 'requests', resource)),
                parseQuantity(dig(container, 'resources', 'limits', resource)),
              );
              if (asked > parseQuantity(max)) {
                findings.push({
                  id: 'k8s.limit-range-exceeded',
                  severity: 'blocker',
                  subject: describeRef(refOf(demand.object)),
                  message: `container ${String(container.name)} asks for ${resource} ${formatAmount(resource, asked)}, above the target LimitRange ${range.metadata.name} maximum ${String(max)}`,
                  remediation:
                    'lower the container resources with a transforms.patches entry, or raise the LimitRange on the target',
                });
              }
            }
          }
        }
      }
    }
  }

  const nodes = await target.list('v1', 'Node', sig);
  const architectures = [
    ...new Set(
      nodes.map(
        (n) =>
          n.metadata.labels?.['kubernetes.io/arch'] ??
          stringOf(dig(n, 'status', 'nodeInfo', 'architecture')) ??
          'unknown',
      ),
    ),
  ];
  for (const demand of all) {
    for (const image of demand.images) {
      const arch = imageArchitecture(image);
      if (arch && nodes.length > 0 && !architectures.includes(arch)) {
        findings.push({
          id: 'k8s.node-architecture',
          severity: 'blocker',
          subject: describeRef(refOf(demand.object)),
          message: `image ${image} looks built for ${arch} only, and the target's nodes are ${architectures.join(', ')}`,
          remediation: `publish a multi-architecture image (or one for ${architectures.join('/')}) and map it in spec.workloads.transforms.images`,
        });
      }
    }
  }
  const allocatable: Record<string, number> = {};
  for (const node of nodes) {
    for (const [resource, quantity] of Object.entries(asRecord(dig(node, 'status', 'allocatable'))))
      allocatable[resource] = (allocatable[resource] ?? 0) + parseQuantity(quantity);
  }
  for (const resource of ['cpu', 'memory']) {
    const needed = all.reduce((sum, d) => sum + (d.perPod[`requests.${resource}`] ?? 0) * d.replicas, 0);
    const available = allocatable[resource] ?? 0;
    if (nodes.length > 0 && needed > available) {
      findings.push({
        id: 'k8s.capacity-insufficient',
        severity: 'blocker',
        subject: 'target',
        message: `the workloads request ${formatAmount(resource, needed)} ${resource} and the target's nodes have ${formatAmount(resource, available)} allocatable in total`,
        remediation: 'add nodes (or enable autoscaling) on the target before the run',
      });
    } else if (nodes.length > 0 && needed > available * 0.8) {
      findings.push({
        id: 'k8s.capacity-tight',
        severity: 'warning',
        subject: 'target',
        message: `the workloads request ${formatAmount(resource, needed)} of ${formatAmount(resource, available)} ${resource} allocatable on the target (over 80 %), before what already runs there`,
        remediation: 'check the target has room, or let its cluster autoscaler add nodes',
      });
    }
  }
  return findings;
}

function formatAmount(resource: string, value: number): string {
  if (resource.includes('memory') || resource.includes('storage')) return `${(value / 1024 ** 3).toFixed(2)}Gi`;
  if (resource.includes('cpu')) return `${Number(value.toFixed(3))}`;
  return String(Number(value.toFixed(3)));
}
