import { describe, expect, it } from 'vitest';
import { InputError } from '../../common/errors.js';
import { parseKubeObject, type KubeObject } from './objects.js';
import { transformObjects } from './transform.js';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com/';

function object(value: Record<string, unknown>): KubeObject {
  return parseKubeObject(value, 'test');
}

const sts = object({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: {
    name: 'db',
    namespace: 'shop',
    uid: 'u-1',
    resourceVersion: '42',
    creationTimestamp: '2024-01-01T00:00:00Z',
    generation: 3,
    managedFields: [{}],
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
  },
  spec: {
    template: {
      spec: {
        nodeName: 'ip-10-0-0-1',
        containers: [{ name: 'db', image: `${ECR}shop/db:15` }],
        initContainers: [{ name: 'init', image: `${ECR}tools/init:1` }],
      },
    },
    volumeClaimTemplates: [
      { metadata: { name: 'data' }, spec: { storageClassName: 'gp3' }, status: { phase: 'Pending' } },
    ],
  },
  status: { replicas: 1 },
});

describe('transformObjects', () => {
  it('strips what the cluster owns and maps classes and images, recording each rule', () => {
    const { objects, changes } = transformObjects([sts], {
      transforms: {
        storageClasses: { gp3: 'premium-rwo' },
        images: { [ECR]: 'us-docker.pkg.dev/acme/prod/', [`${ECR}tools/`]: 'gcr.io/tools/' },
      },
    });
    expect(objects[0]).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'db', image: 'us-docker.pkg.dev/acme/prod/shop/db:15' }],
            initContainers: [{ name: 'init', image: 'gcr.io/tools/init:1' }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'premium-rwo' } }],
      },
    });
    expect(changes).toEqual(
      expect.arrayContaining([
        { object: 'apps/v1 StatefulSet shop/db', rule: 'strip', path: '/metadata/uid' },
        { object: 'apps/v1 StatefulSet shop/db', rule: 'strip', path: '/spec/template/spec/nodeName' },
        {
          object: 'apps/v1 StatefulSet shop/db',
          rule: 'storageClasses.gp3',
          path: '/spec/volumeClaimTemplates/0/spec/storageClassName',
          from: 'gp3',
          to: 'premium-rwo',
        },
        // The longest matching prefix wins.
        {
          object: 'apps/v1 StatefulSet shop/db',
          rule: `images[${JSON.stringify(`${ECR}tools/`)}]`,
          path: '/spec/template/spec/initContainers/0/image',
          from: `${ECR}tools/init:1`,
          to: 'gcr.io/tools/init:1',
        },
      ]),
    );
    expect(sts.metadata.uid).toBe('u-1');
  });

  it('keeps headless Services headless and drops allocated cluster IPs and node ports', () => {
    const services = [
      object({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'a', namespace: 'shop' },
        spec: {
          clusterIP: '10.0.0.5',
          clusterIPs: ['10.0.0.5'],
          type: 'LoadBalancer',
          ports: [{ port: 80, nodePort: 31000 }],
        },
      }),
      object({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'b', namespace: 'shop' },
        spec: { clusterIP: 'None' },
      }),
    ];
    const { objects } = transformObjects(services);
    expect(objects[0]?.spec).toEqual({ type: 'LoadBalancer', ports: [{ port: 80 }] });
    expect(objects[1]?.spec).toEqual({ clusterIP: 'None' });
  });

  it('maps identities, annotations (null removes), namespaces and applies JSON patches by kind and name', () => {
    const sa = object({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'web',
        namespace: 'old',
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/web', keep: 'me' },
      },
      secrets: [{ name: 'web-token-x' }],
    });
    const binding = object({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'r', namespace: 'old' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'old' }],
      roleRef: { kind: 'Role', name: 'r' },
    });
    const { objects, changes } = transformObjects([sa, binding], {
      namespaces: { old: 'new' },
      transforms: {
        serviceAccounts: { web: { 'iam.gke.io/gcp-service-account': 'web@p.iam.gserviceaccount.com' } },
        annotations: { keep: null, team: 'payments' },
        patches: [
          {
            match: { kind: 'Role*', name: 'r' },
            patch: [{ op: 'add', path: '/metadata/labels', value: { patched: 'yes' } }],
          },
        ],
      },
    });
    expect(objects[0]).toEqual({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'web',
        namespace: 'new',
        annotations: { 'iam.gke.io/gcp-service-account': 'web@p.iam.gserviceaccount.com', team: 'payments' },
      },
    });
    expect(objects[1]?.metadata).toEqual({
      name: 'r',
      namespace: 'new',
      annotations: { team: 'payments' },
      labels: { patched: 'yes' },
    });
    expect(objects[1]?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'web', namespace: 'new' }]);
    expect(changes.filter((c) => c.rule === 'patches[0]')).toEqual([
      {
        object: 'rbac.authorization.k8s.io/v1 RoleBinding old/r',
        rule: 'patches[0]',
        path: '/metadata/labels',
        to: { patched: 'yes' },
      },
    ]);
  });

  it('maps the namespace inside service account user names and namespace groups of binding subjects', () => {
    const binding = object({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'c' },
      subjects: [
        { kind: 'User', name: 'system:serviceaccount:old:web' },
        { kind: 'Group', name: 'system:serviceaccounts:old' },
        { kind: 'Group', name: 'system:serviceaccounts' },
        { kind: 'Group', name: 'system:serviceaccounts:other' },
      ],
      roleRef: { kind: 'ClusterRole', name: 'view' },
    });
    const { objects, changes } = transformObjects([binding], { namespaces: { old: 'new' } });
    expect(objects[0]?.subjects).toEqual([
      { kind: 'User', name: 'system:serviceaccount:new:web' },
      { kind: 'Group', name: 'system:serviceaccounts:new' },
      { kind: 'Group', name: 'system:serviceaccounts' },
      { kind: 'Group', name: 'system:serviceaccounts:other' },
    ]);
    expect(changes.filter((c) => c.rule === 'namespaces.old').map((c) => c.path)).toEqual([
      '/subjects/0/name',
      '/subjects/1/name',
    ]);
  });

  it('leaves spec.replicas to the HPA that scales a workload, and keeps it elsewhere', () => {
    const deployment = (name: string) =>
      object({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: 'shop' },
        spec: { replicas: 4 },
      });
    const hpa = object({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 6 },
    });
    const { objects, changes } = transformObjects([deployment('web'), deployment('worker'), hpa]);
    expect(objects[0]?.spec).toEqual({});
    expect(objects[1]?.spec).toEqual({ replicas: 4 });
    expect(changes).toContainEqual({
      object: 'apps/v1 Deployment shop/web',
      rule: 'hpa-owns-replicas',
      path: '/spec/replicas',
      from: 4,
    });
  });

  it('fails with the patch index and object when a patch does not apply', () => {
    const run = (): unknown =>
      transformObjects([sts], {
        transforms: {
          patches: [{ match: { kind: 'StatefulSet' }, patch: [{ op: 'replace', path: '/spec/missing', value: 1 }] }],
        },
      });
    expect(run).toThrow(InputError);
    expect(run).toThrow(
      'spec.workloads.transforms.patches[0]: cannot patch apps/v1 StatefulSet shop/db: patch operation 0 (/spec/missing)',
    );
  });
});
