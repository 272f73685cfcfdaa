/**
 * Where a `fromSecret` reference points: a key of a Kubernetes Secret in a context and namespace.
 * A reference inside a site (`spec.source...`, `spec.target...`) defaults to that site's context,
 * namespace and kubeconfig; a reference outside the sites (the router's admin token) names its
 * context and namespace itself (a plan rule says so) and uses the kubeconfig of a site with the
 * same context, else the default one. The reader that fetches the value is the Kubernetes
 * platform's (src/platforms/kubernetes/secrets.ts); this module only says where to look.
 */
import type { Migration, SecretRef } from './schema.js';

export type KubernetesSecretRef = Extract<SecretRef, { fromSecret: unknown }>;

export interface KubernetesSecretLocation {
  context: string;
  namespace: string;
  name: string;
  key: string;
  /** Kubeconfig file; default: KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
}

/** Why a Secret's key could not be read: not found (404), key missing or empty, forbidden by RBAC (403), cluster unreachable. */
export type SecretReadReason = 'not-found' | 'key-missing' | 'empty' | 'forbidden' | 'unreachable';

export type SecretReadResult = { value: string } | { reason: SecretReadReason; message: string };

/** Reads one key of a Secret (the Kubernetes platform implements it). */
export interface KubernetesSecretReader {
  /** Never throws for a Secret that cannot be read: the reason says why. Idempotent; registers the value with the redactor. */
  read(location: KubernetesSecretLocation, signal?: AbortSignal): Promise<SecretReadResult>;
}

export function isKubernetesRef(ref: SecretRef): ref is KubernetesSecretRef {
  return 'fromSecret' in ref;
}

/** The site a reference belongs to, from its path in the plan (none outside `spec.source` / `spec.target`). */
export function siteOfPath(at: ReadonlyArray<string | number>): 'source' | 'target' | undefined {
  return at[0] === 'spec' && (at[1] === 'source' || at[1] === 'target') ? at[1] : undefined;
}

/** The Secret a reference points at, or why the plan does not say (a plan rule reports the same). */
export function locateKubernetesRef(
  plan: Migration,
  at: ReadonlyArray<string | number>,
  ref: KubernetesSecretRef,
): KubernetesSecretLocation | { problem: string } {
  const { name, key } = ref.fromSecret;
  const site = siteOfPath(at);
  if (site !== undefined) {
    const platform = plan.spec[site].platform;
    if (platform.kind !== 'kubernetes') {
      return { problem: `fromSecret reads a Kubernetes Secret, but the ${site} site's platform is ${platform.kind}` };
    }
    return {
      context: ref.fromSecret.context ?? platform.context,
      namespace: ref.fromSecret.namespace ?? platform.namespace,
      name,
      key,
      ...(platform.kubeconfig ? { kubeconfig: platform.kubeconfig } : {}),
    };
  }
  const { context, namespace } = ref.fromSecret;
  if (context === undefined || namespace === undefined) {
    return { problem: 'fromSecret outside a site has no site to take its context and namespace from; give both' };
  }
  const kubeconfig = (['source', 'target'] as const)
    .map((s) => plan.spec[s].platform)
    .find((p) => p.kind === 'kubernetes' && p.context === context && p.kubeconfig !== undefined);
  return {
    context,
    namespace,
    name,
    key,
    ...(kubeconfig?.kind === 'kubernetes' && kubeconfig.kubeconfig ? { kubeconfig: kubeconfig.kubeconfig } : {}),
  };
}

/** `Kubernetes Secret ns/name key k (context c)`: how messages name a Secret's key. */
export function describeLocation(location: KubernetesSecretLocation): string {
  return `Kubernetes Secret ${location.namespace}/${location.name} key ${location.key} (context ${location.context})`;
}
