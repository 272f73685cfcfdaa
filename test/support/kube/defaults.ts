/**
 * Defaulting and validation the real API server does for the types handoff reads and writes
 * (a subset: the fields a client can observe in a round trip, and the errors it must handle).
 */
import type { ResourceType } from './catalog.js';
import { statusErrors } from './status.js';
import type { KubeObject } from './store.js';

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(parent: Obj, key: string): Obj {
  const value = parent[key];
  if (isObject(value)) return value;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function setDefault(target: Obj, key: string, value: unknown): void {
  if (target[key] === undefined) target[key] = value;
}

let nextIp = 10;

function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  for (const listName of ['containers', 'initContainers']) {
    const list = spec[listName];
    if (!Array.isArray(list)) continue;
    for (const container of list) {
      if (!isObject(container)) continue;
      const image = typeof container.image === 'string' ? container.image : '';
      const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
      setDefault(container, 'imagePullPolicy', tagged || image.includes('@') ? 'IfNotPresent' : 'Always');
      setDefault(container, 'terminationMessagePath', '/dev/termination-log');
      setDefault(container, 'terminationMessagePolicy', 'File');
      setDefault(container, 'resources', {});
    }
  }
}

function defaultTemplate(spec: Obj): void {
  const template = obj(spec, 'template');
  defaultPodSpec(obj(template, 'spec'));
}

const withGeneration = new Set(['apps', 'batch', 'networking.k8s.io', 'policy', 'autoscaling', 'apiextensions.k8s.io']);

/**
 * Defaults the server fills in. It defaults every write (as the real server defaults every decoded
 * object), so a client that sends an undefaulted object changes nothing; `create` adds what only
 * creation sets (generation, allocated cluster IPs, initial status).
 */
export function applyDefaults(type: ResourceType, object: KubeObject, custom: boolean, create: boolean): void {
  const metadata = object.metadata;
  if (create && (custom || withGeneration.has(type.group))) metadata.generation = 1;
  const spec = isObject(object.spec) ? object.spec : undefined;
  switch (`${type.group}/${type.kind}`) {
    case '/Namespace':
      obj(metadata, 'labels')['kubernetes.io/metadata.name'] = metadata.name;
      object.spec = { finalizers: ['kubernetes'] };
      if (create) object.status = { phase: 'Active' };
      break;
    case '/Service': {
      const s = obj(object, 'spec');
      setDefault(s, 'type', 'ClusterIP');
      setDefault(s, 'sessionAffinity', 'None');
      if (s.type !== 'ExternalName') {
        if (create && (s.clusterIP === undefined || s.clusterIP === '')) {
          nextIp += 1;
          s.clusterIP = `10.96.${Math.floor(nextIp / 250)}.${nextIp % 250}`;
        }
        if (s.clusterIP !== undefined) s.clusterIPs = [s.clusterIP];
        setDefault(s, 'ipFamilies', ['IPv4']);
        setDefault(s, 'ipFamilyPolicy', 'SingleStack');
        setDefault(s, 'internalTrafficPolicy', 'Cluster');
      }
      for (const port of Array.isArray(s.ports) ? s.ports : []) {
        if (!isObject(port)) continue;
        setDefault(port, 'protocol', 'TCP');
        setDefault(port, 'targetPort', port.port);
      }
      if (create) object.status = { loadBalancer: {} };
      break;
    }
    case '/Secret':
      setDefault(object, 'type', 'Opaque');
      break;
    case '/PersistentVolumeClaim':
      if (spec) setDefault(spec, 'volumeMode', 'Filesystem');
      if (create) object.status = { phase: 'Pending' };
      break;
    case 'apps/Deployment': {
      const s = obj(object, 'spec');
      setDefault(s, 'replicas', 1);
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'progressDeadlineSeconds', 600);
      setDefault(s, 'strategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
      defaultTemplate(s);
      break;
    }
    case 'apps/StatefulSet': {
      const s = obj(object, 'spec');
      setDefault(s, 'replicas', 1);
      setDefault(s, 'podManagementPolicy', 'OrderedReady');
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
      defaultTemplate(s);
      for (const claim of Array.isArray(s.volumeClaimTemplates) ? s.volumeClaimTemplates : []) {
        if (!isObject(claim)) continue;
        setDefault(claim, 'apiVersion', 'v1');
        setDefault(claim, 'kind', 'PersistentVolumeClaim');
        setDefault(obj(claim, 'spec'), 'volumeMode', 'Filesystem');
        setDefault(claim, 'status', { phase: 'Pending' });
      }
      break;
    }
    case 'apps/DaemonSet':
    case 'apps/ReplicaSet':
      defaultTemplate(obj(object, 'spec'));
      break;
    case 'batch/CronJob': {
      const s = obj(object, 'spec');
      setDefault(s, 'suspend', false);
      setDefault(s, 'concurrencyPolicy', 'Allow');
      setDefault(s, 'successfulJobsHistoryLimit', 3);
      setDefault(s, 'failedJobsHistoryLimit', 1);
      const jobSpec = obj(obj(s, 'jobTemplate'), 'spec');
      const podSpec = obj(obj(jobSpec, 'template'), 'spec');
      defaultPodSpec(podSpec);
      podSpec.restartPolicy = podSpec.restartPolicy === 'Always' ? 'OnFailure' : podSpec.restartPolicy;
      break;
    }
    default:
      break;
  }
}

const nameRule = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function matchLabels(spec: Obj): Obj | undefined {
  const selector = spec.selector;
  return isObject(selector) && isObject(selector.matchLabels) ? selector.matchLabels : undefined;
}

/** Validation on create and update: throws a 422 Invalid with causes, as the real server does. */
export function validate(type: ResourceType, object: KubeObject, old: KubeObject | undefined): void {
  const name = object.metadata.name;
  const causes: Array<{ field: string; message: string; reason?: string }> = [];
  if (!nameRule.test(name) || name.length > 253) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    });
  }
  const spec = isObject(object.spec) ? object.spec : undefined;
  if (type.group === 'apps' && ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(type.kind)) {
    const selector = spec ? matchLabels(spec) : undefined;
    const template = spec && isObject(spec.template) ? spec.template : {};
    const labels = isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
    if (!selector) causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
    else if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) {
      causes.push({
        field: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
      });
    }
    const containers = spec && isObject(template.spec) ? template.spec.containers : undefined;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ field: 'spec.template.spec.containers', message: 'Required value', reason: 'FieldValueRequired' });
    }
    if (old && spec && isObject(old.spec) && JSON.stringify(matchLabels(old.spec)) !== JSON.stringify(selector)) {
      causes.push({
        field: 'spec.selector',
        message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
      });
    }
  }
  if (old && type.group === 'apps' && type.kind === 'StatefulSet' && spec && isObject(old.spec)) {
    const mutable = [
      'replicas',
      'ordinals',
      'template',
      'updateStrategy',
      'persistentVolumeClaimRetentionPolicy',
      'minReadySeconds',
    ];
    const strip = (s: Obj): Obj => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
    if (JSON.stringify(strip(spec)) !== JSON.stringify(strip(old.spec))) {
      causes.push({
        field: 'spec',
        reason: 'FieldValueForbidden',
        message:
          "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      });
    }
  }
  if (old && type.group === '' && type.kind === 'Service' && spec && isObject(old.spec)) {
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs;
    } else if (spec.clusterIP !== old.spec.clusterIP) {
      causes.push({
        field: 'spec.clusterIPs[0]',
        message: `Invalid value: ${JSON.stringify([spec.clusterIP])}: may not change once set`,
      });
    }
  }
  if (type.group === '' && type.kind === 'Secret' && isObject(object.data)) {
    // data is map[string][]byte: JSON decoding refuses what is not standard, padded base64.
    for (const value of Object.values(object.data)) {
      const text = typeof value === 'string' ? value : '';
      const bad = typeof value !== 'string' ? 0 : text.search(/[^A-Za-z0-9+/=]|=[^=]|=.{2,}$/);
      if (bad >= 0 || text.length % 4 !== 0) {
        const at = bad >= 0 ? bad : text.length - (text.length % 4);
        throw statusErrors.badRequest(
          `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`,
        );
      }
    }
  }
  if (type.group === '' && type.kind === 'Secret' && isObject(object.stringData)) {
    const data = isObject(object.data) ? object.data : {};
    for (const [key, value] of Object.entries(object.stringData))
      data[key] = Buffer.from(String(value)).toString('base64');
    object.data = data;
    delete object.stringData;
  }
  if (causes.length > 0) throw statusErrors.invalid(type, name, causes);
}
