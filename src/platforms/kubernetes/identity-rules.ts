/**
 * Workload identity rules (`spec.workloads.transforms.identities`): from a source cloud identity
 * on a ServiceAccount (an AWS IRSA role ARN, a GKE Google service account, an Azure client id),
 * matched exactly or by an anchored regular expression with captures, to the target's identity.
 * Pure: reads ServiceAccounts and decides; transform.ts applies the decision to ServiceAccount
 * annotations and pod template labels, recording each change with the rule (`identities[0]`).
 */
import { asRecord, stringOf, type KubeObject } from './objects.js';

export type IdentityProvider = 'aws' | 'gcp' | 'azure';

export interface IdentityRule {
  from: { provider: IdentityProvider; exact?: string | undefined; pattern?: string | undefined };
  to: {
    provider: IdentityProvider;
    /** The target identity; `$1` and `$<name>` take the pattern's captures. */
    identity: string;
    /** Azure: the tenant of the identity (`azure.workload.identity/tenant-id`). */
    tenantId?: string | undefined;
    /** GKE: the workload identity pool (`PROJECT.svc.id.goog`); default from the service account's project. */
    workloadPool?: string | undefined;
  };
}

/** How each provider marks a ServiceAccount (and, for Azure, its pods). */
export const IDENTITY_PROVIDERS: Record<
  IdentityProvider,
  { annotation: string; prefix: string; podLabel?: [string, string] }
> = {
  aws: { annotation: 'eks.amazonaws.com/role-arn', prefix: 'eks.amazonaws.com/' },
  gcp: { annotation: 'iam.gke.io/gcp-service-account', prefix: 'iam.gke.io/' },
  azure: {
    annotation: 'azure.workload.identity/client-id',
    prefix: 'azure.workload.identity/',
    podLabel: ['azure.workload.identity/use', 'true'],
  },
};

export interface SourceIdentity {
  provider: IdentityProvider;
  value: string;
}

/** The cloud identity a ServiceAccount carries, if any (AWS, then GKE, then Azure). */
export function identityOf(account: KubeObject): SourceIdentity | undefined {
  const annotations = asRecord(account.metadata.annotations);
  for (const provider of ['aws', 'gcp', 'azure'] as const) {
    const value = stringOf(annotations[IDENTITY_PROVIDERS[provider].annotation]);
    if (value !== undefined && value !== '') return { provider, value };
  }
  return undefined;
}

/** The compiled form of a rule's pattern: anchored at both ends. */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

export interface IdentityMatch {
  /** Index of the rule in spec.workloads.transforms.identities. */
  index: number;
  from: SourceIdentity;
  to: IdentityRule['to'];
  /** The target identity with the captures substituted. */
  identity: string;
}

/** The first rule matching the identity, with the target identity it gives. */
export function matchIdentity(rules: readonly IdentityRule[], identity: SourceIdentity): IdentityMatch | undefined {
  for (const [index, rule] of rules.entries()) {
    if (rule.from.provider !== identity.provider) continue;
    if (rule.from.exact !== undefined) {
      if (rule.from.exact === identity.value) return { index, from: identity, to: rule.to, identity: rule.to.identity };
      continue;
    }
    if (rule.from.pattern === undefined) continue;
    const regex = compilePattern(rule.from.pattern);
    if (regex.test(identity.value))
      return { index, from: identity, to: rule.to, identity: identity.value.replace(regex, rule.to.identity) };
  }
  return undefined;
}

/** A ServiceAccount whose identity a rule maps, with where it lands on the target. */
export interface IdentityMapping extends IdentityMatch {
  /** Source namespace and name. */
  namespace: string;
  name: string;
  /** Namespace on the target (after the plan's namespace mapping). */
  targetNamespace: string;
}

/** Every exported ServiceAccount with a cloud identity a rule maps (ServiceAccounts with an explicit
 * `serviceAccounts` mapping keep that mapping and are not listed). */
export function identityMappings(
  objects: readonly KubeObject[],
  rules: readonly IdentityRule[] | undefined,
  options: { namespaces?: Record<string, string>; explicit?: Record<string, unknown> } = {},
): IdentityMapping[] {
  if (!rules || rules.length === 0) return [];
  const out: IdentityMapping[] = [];
  for (const account of objects.filter((o) => o.kind === 'ServiceAccount')) {
    if (options.explicit?.[account.metadata.name] !== undefined) continue;
    const identity = identityOf(account);
    const match = identity ? matchIdentity(rules, identity) : undefined;
    if (!match) continue;
    const namespace = account.metadata.namespace ?? '';
    out.push({
      ...match,
      namespace,
      name: account.metadata.name,
      targetNamespace: options.namespaces?.[namespace] ?? namespace,
    });
  }
  return out;
}

/** Key of a ServiceAccount in a mapping table: `namespace/name` (source side). */
export const accountKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

/** What a mapped identity changes on its ServiceAccount: annotations to remove, then to set. */
export function annotationChanges(
  match: IdentityMatch,
  current: Record<string, unknown>,
): { remove: string[]; set: Array<[string, string]> } {
  const source = IDENTITY_PROVIDERS[match.from.provider];
  const target = IDENTITY_PROVIDERS[match.to.provider];
  // Another provider: every annotation of the source's (audience, token expiration...) goes too.
  const remove =
    match.from.provider === match.to.provider
      ? []
      : Object.keys(current).filter((key) => key.startsWith(source.prefix));
  const set: Array<[string, string]> = [[target.annotation, match.identity]];
  if (match.to.provider === 'azure' && match.to.tenantId !== undefined)
    set.push(['azure.workload.identity/tenant-id', match.to.tenantId]);
  return { remove, set };
}

/** The pod label change a mapped identity needs on the pods that use its ServiceAccount. */
export function podLabelChange(match: IdentityMatch): { set?: [string, string]; remove?: string } {
  const target = IDENTITY_PROVIDERS[match.to.provider].podLabel;
  if (target) return { set: target };
  const source = IDENTITY_PROVIDERS[match.from.provider].podLabel;
  return source ? { remove: source[0] } : {};
}
