/**
 * The preflight check of a plan's Kubernetes Secret references: each `fromSecret` that cannot be
 * read is a `secret.unreadable` blocker naming the site, the Secret (context, namespace/name, key),
 * the plan path and the reason (Secret not found, key missing or empty, forbidden by RBAC, cluster
 * unreachable, not a PostgreSQL URL). Never a value. Used by `handoff preflight -f` and by the
 * run's resolve-secrets step.
 */
import { SecretUnresolvedError } from '../common/errors.js';
import type { Finding } from '../common/findings.js';
import { formatPath } from './path.js';
import type { Migration } from './schema.js';
import { isKubernetesRef, siteOfPath } from './secret-location.js';
import { findSecretRefs, type PlanSecrets, type ResolvedSecrets } from './secrets.js';
import type { KubernetesSecretReader } from './secret-location.js';

const REMEDIATION: Record<string, string> = {
  'not-found':
    'create the Secret in that namespace (kubectl create secret generic NAME --from-literal=KEY=...), or correct name, namespace or context in the plan',
  'key-missing': 'add the key to the Secret, or correct the key in the plan',
  empty: 'put the value in the Secret key',
  forbidden:
    'grant the identity of this kubeconfig context `get` on secrets in that namespace (a Role and RoleBinding)',
  unreachable: 'check the kubeconfig context, credentials and network path to the API server',
  'not-a-url': 'the key must hold a PostgreSQL URL (postgresql://USER:PASSWORD@HOST:PORT/DB)',
  plan: 'correct the reference in the plan',
};

/** `secret.unreadable` findings for the plan's `fromSecret` references that cannot be resolved now. */
export function kubernetesSecretFindings(plan: Migration, secrets: ResolvedSecrets): Finding[] {
  const findings: Finding[] = [];
  for (const { path: at, ref } of findSecretRefs(plan)) {
    if (!isKubernetesRef(ref)) continue;
    const where = formatPath(at);
    try {
      secrets.resolve(ref, where);
    } catch (error) {
      if (!(error instanceof SecretUnresolvedError)) throw error;
      const reason = typeof error.details.reason === 'string' ? error.details.reason : 'plan';
      const site = siteOfPath(at);
      const message = error.issues.map((issue) => issue.message).join('; ');
      findings.push({
        id: 'secret.unreadable',
        severity: 'blocker',
        subject: where,
        message: `${site ? `${site} site: ` : ''}${message}`,
        remediation: REMEDIATION[reason] ?? REMEDIATION.plan ?? '',
      });
    }
  }
  return findings;
}

/** Reads the plan's Kubernetes Secret references (once) and returns the findings about them. */
export async function checkKubernetesSecrets(
  plan: Migration,
  secrets: PlanSecrets,
  reader: KubernetesSecretReader,
  signal?: AbortSignal,
): Promise<Finding[]> {
  if (secrets.kubernetesRefs === 0) return [];
  await secrets.loadKubernetes(reader, signal);
  return kubernetesSecretFindings(plan, secrets);
}
