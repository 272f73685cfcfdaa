/**
 * The namespace as an EKS cluster would hold it: a Deployment, a StatefulSet with
 * volumeClaimTemplates, Services, an Ingress, a ConfigMap, a Secret, a ServiceAccount with a
 * RoleBinding, an HPA, a CronJob and a custom resource, plus the cluster objects they need.
 * Workloads carry `app: shop`; what they reference (ConfigMap, Secret, ServiceAccount, RBAC)
 * deliberately does not, so only the dependency closure can find it.
 */
export const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com/';
export const GAR = 'us-docker.pkg.dev/acme/prod/';
export const SECRET_VALUE = 'pA55-w0rd-never-logged';

type Obj = Record<string, unknown>;

export const crd: Obj = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wg'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

/** Cluster-scoped objects of the source (EKS-like). */
export const sourceClusterObjects: Obj[] = [
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'gp3', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'ebs.csi.aws.com',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
    parameters: { type: 'gp3' },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'alb' },
    spec: { controller: 'ingress.k8s.aws/alb' },
  },
  crd,
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'shop-node-reader' },
    rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'shop-node-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'shop-node-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }],
  },
];

/** Cluster-scoped objects of the target (GKE-like). */
export const targetClusterObjects: Obj[] = [
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'premium-rwo' },
    provisioner: 'pd.csi.storage.gke.io',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
    parameters: { type: 'pd-ssd' },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'gce' },
    spec: { controller: 'networking.gke.io/ingress-gce' },
  },
  crd,
];

const podTemplate = (labels: Obj, image: string, extra: Obj = {}): Obj => ({
  metadata: { labels },
  spec: {
    serviceAccountName: 'web',
    containers: [
      {
        name: 'main',
        image,
        ports: [{ containerPort: 8080 }],
        envFrom: [{ configMapRef: { name: 'web-config' } }],
        env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'web-secret', key: 'password' } } }],
        resources: { requests: { cpu: '250m', memory: '256Mi' } },
        ...extra,
      },
    ],
  },
});

export function shopNamespace(namespace = 'shop'): Obj[] {
  const ns = { namespace };
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', ...ns }, data: { LOG_LEVEL: 'info' } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'unrelated', ...ns },
      data: { note: 'not used by the workloads' },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret', ...ns },
      type: 'Opaque',
      data: { password: Buffer.from(SECRET_VALUE).toString('base64') },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'web',
        ...ns,
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/shop-web' },
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'web-reader', ...ns },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'web-reader', ...ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'web-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', ...ns, labels: { app: 'shop' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'shop', tier: 'web' } },
        template: podTemplate({ app: 'shop', tier: 'web' }, `${ECR}shop/web:1.4.2`),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', ...ns, labels: { app: 'shop' } },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'shop', tier: 'db' } },
        template: podTemplate({ app: 'shop', tier: 'db' }, `${ECR}shop/db:15`, {
          volumeMounts: [{ name: 'data', mountPath: '/var/lib/data' }],
        }),
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'gp3',
              resources: { requests: { storage: '10Gi' } },
            },
          },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', ...ns, labels: { app: 'shop' } },
      spec: { selector: { app: 'shop', tier: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web-public',
        ...ns,
        labels: { app: 'shop' },
        annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
      },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'shop', tier: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'web',
        ...ns,
        labels: { app: 'shop' },
        annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' },
      },
      spec: {
        ingressClassName: 'alb',
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }],
            },
          },
        ],
      },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', ...ns, labels: { app: 'shop' } },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', ...ns, labels: { app: 'shop' } },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: { restartPolicy: 'OnFailure', containers: [{ name: 'report', image: `${ECR}shop/report:2.0` }] },
            },
          },
        },
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-ingress', ...ns, labels: { app: 'shop' } },
      spec: {
        podSelector: { matchLabels: { app: 'shop' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: {} }] }],
      },
    },
    {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'orders-widget', ...ns, labels: { app: 'shop' } },
      spec: { size: 3 },
    },
  ];
}
