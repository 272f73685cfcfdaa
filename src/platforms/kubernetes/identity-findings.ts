/**
 * Preflight findings about cloud workload identities of the exported ServiceAccounts:
 * `k8s.identity-unmapped` (blocker: an identity no `serviceAccounts` entry or `identities` rule
 * maps; between two clusters of one provider `k8s.identity-same-provider`, a warning, since the
 * identity may be trusted by both), `k8s.identity-mapped` (info, with the rule),
 * `k8s.identity-pod-identity` (warning: the source is EKS and runs the Pod Identity agent or its
 * pods show Pod Identity credentials, whose associations live in the EKS API, not in manifests),
 * `k8s.identity-federation-limit` (blocker: an Azure identity would need more than 20 federated
 * credentials). Read-only.
 */
import type { Finding } from '../../common/findings.js';
import type { Cluster } from './cluster.js';
import { IDENTITY_PROVIDERS, identityOf, matchIdentity } from './identity-rules.js';
import { asArray, describeRef, dig, refOf, stringOf, type KubeObject } from './objects.js';
import { containersOf, podSpecOf } from './references.js';
import type { Transforms } from './transform.js';

/** Azure allows at most 20 federated identity credentials on one identity. */
export const AZURE_FEDERATION_LIMIT = 20;
/** The credentials endpoint the EKS Pod Identity webhook injects into pods. */
const POD_IDENTITY_ENV = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';

export interface IdentityFindingsInput {
  source: Cluster;
  /** Exported source objects and their translations, index for index. */
  exported: readonly KubeObject[];
  translated: readonly KubeObject[];
  transforms?: Transforms | undefined;
  sourceProvider?: string | undefined;
  targetProvider?: string | undefined;
  signal?: AbortSignal;
}

function mappingFindings(input: IdentityFindingsInput): Finding[] {
  const out: Finding[] = [];
  const sameProvider = input.sourceProvider !== undefined && input.sourceProvider === input.targetProvider;
  input.exported.forEach((account, i) => {
    if (account.kind !== 'ServiceAccount') return;
    const translated = input.translated[i] ?? account;
    const subject = describeRef(refOf(translated));
    const identity = identityOf(account);
    if (!identity) return;
    const explicit = input.transforms?.serviceAccounts?.[account.metadata.name] !== undefined;
    const match = explicit ? undefined : matchIdentity(input.transforms?.identities ?? [], identity);
    // A plan's annotations or patches may have removed or replaced it too.
    const after = identityOf(translated);
    if (!explicit && !match && (after?.provider !== identity.provider || after.value !== identity.value)) {
      out.push({
        id: 'k8s.identity-mapped',
        severity: 'info',
        subject,
        message: `${identity.provider} identity ${identity.value} of ${account.metadata.name} is ${after ? `replaced by ${after.provider} identity ${after.value}` : 'removed'} by spec.workloads.transforms (annotations or patches)`,
        remediation: '',
      });
      return;
    }
    if (explicit || match) {
      out.push({
        id: 'k8s.identity-mapped',
        severity: 'info',
        subject,
        message: match
          ? `${identity.provider} identity ${identity.value} of ${account.metadata.name} becomes ${match.to.provider} identity ${match.identity} (spec.workloads.transforms.identities[${match.index}])`
          : `identity annotations of ${account.metadata.name} are replaced by spec.workloads.transforms.serviceAccounts.${account.metadata.name}`,
        remediation: '',
      });
      return;
    }
    const annotation = IDENTITY_PROVIDERS[identity.provider].annotation;
    if (sameProvider) {
      out.push({
        id: 'k8s.identity-same-provider',
        severity: 'warning',
        subject,
        message: `ServiceAccount ${account.metadata.name} uses a cloud identity (${annotation}); both clusters look like ${input.sourceProvider ?? ''}, but the identity's trust is usually bound to the source cluster's OIDC issuer`,
        remediation:
          "add the target cluster's OIDC issuer to the identity's trust (handoff export writes the statement when a rule maps it), or map it in spec.workloads.transforms.identities",
      });
      return;
    }
    out.push({
      id: 'k8s.identity-unmapped',
      severity: 'blocker',
      subject,
      message: `ServiceAccount ${account.metadata.name} uses the ${identity.provider} identity ${identity.value} (${annotation}) and no rule in spec.workloads.transforms.identities (nor a serviceAccounts entry) maps it; its pods would lose their cloud permissions`,
      remediation: `add a rule to spec.workloads.transforms.identities, for example { from: { provider: ${identity.provider}, exact: "${identity.value}" }, to: { provider: gcp, identity: NAME@PROJECT.iam.gserviceaccount.com } }`,
    });
  });
  return out;
}

/** EKS Pod Identity: the agent DaemonSet, or pods carrying the credentials endpoint it serves. */
async function podIdentityFindings(input: IdentityFindingsInput): Promise<Finding[]> {
  if (input.sourceProvider !== 'aws') return [];
  const sig = input.signal ? { signal: input.signal } : {};
  const agent = await input.source.get(
    { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'eks-pod-identity-agent', namespace: 'kube-system' },
    input.signal,
  );
  const namespaces = [...new Set(input.exported.map((o) => o.metadata.namespace).filter((n): n is string => !!n))];
  const accounts = new Set<string>();
  for (const namespace of namespaces) {
    for (const pod of await input.source.list('v1', 'Pod', { namespace, ...sig })) {
      const spec = podSpecOf(pod);
      const uses = spec
        ? containersOf(spec).some((c) => asArray(c.env).some((e) => dig(e, 'name') === POD_IDENTITY_ENV))
        : false;
      if (uses) accounts.add(`${namespace}/${stringOf(spec?.serviceAccountName) ?? 'default'}`);
    }
  }
  if (!agent && accounts.size === 0) return [];
  const evidence = [
    ...(agent ? ['the source runs the EKS Pod Identity agent (kube-system/eks-pod-identity-agent)'] : []),
    ...(accounts.size > 0
      ? [`pods of ${[...accounts].sort().join(', ')} carry ${POD_IDENTITY_ENV} (Pod Identity credentials)`]
      : []),
  ];
  return [
    {
      id: 'k8s.identity-pod-identity',
      severity: 'warning',
      subject: 'source',
      message: `${evidence.join('; ')}; Pod Identity associations are kept in the EKS API, not in the manifests, so the export cannot see or carry them`,
      remediation: `list them with \`aws eks list-pod-identity-associations --cluster-name CLUSTER --namespace ${namespaces.join('|')}\` and give each ServiceAccount the target's identity (spec.workloads.transforms.serviceAccounts)`,
    },
  ];
}

/** Azure: one federated credential per (issuer, subject); at most 20 per identity. */
function federationFindings(input: IdentityFindingsInput): Finding[] {
  const azure = IDENTITY_PROVIDERS.azure.annotation;
  const subjects = new Map<string, Set<string>>();
  const add = (clientId: unknown, subject: string): void => {
    if (typeof clientId !== 'string' || clientId === '') return;
    subjects.set(clientId, (subjects.get(clientId) ?? new Set()).add(subject));
  };
  input.translated.forEach((account, i) => {
    if (account.kind !== 'ServiceAccount') return;
    add(
      account.metadata.annotations?.[azure],
      `target system:serviceaccount:${account.metadata.namespace ?? ''}:${account.metadata.name}`,
    );
    // The source cluster's credential stays on the identity through the window.
    const source = input.exported[i];
    if (input.sourceProvider === 'azure' && source)
      add(
        source.metadata.annotations?.[azure],
        `source system:serviceaccount:${source.metadata.namespace ?? ''}:${source.metadata.name}`,
      );
  });
  return [...subjects]
    .filter(([, set]) => set.size > AZURE_FEDERATION_LIMIT)
    .map(([clientId, set]) => ({
      id: 'k8s.identity-federation-limit',
      severity: 'blocker' as const,
      subject: `Azure identity ${clientId}`,
      message: `the Azure identity ${clientId} would need ${set.size} federated credentials (one per cluster issuer and ServiceAccount), more than Azure's limit of ${AZURE_FEDERATION_LIMIT}`,
      remediation:
        'map some of these ServiceAccounts to another identity (spec.workloads.transforms.identities), or share fewer ServiceAccounts per identity',
    }));
}

export async function identityFindings(input: IdentityFindingsInput): Promise<Finding[]> {
  return [...mappingFindings(input), ...(await podIdentityFindings(input)), ...federationFindings(input)];
}
