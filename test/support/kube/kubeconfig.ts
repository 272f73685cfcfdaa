/**
 * Writes a kubeconfig with one cluster, user and context per test server, as kubectl and
 * @kubernetes/client-node read it.
 */
import fs from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigEntry {
  /** Context name (also used for the cluster and user names). */
  name: string;
  url: string;
  token?: string;
  namespace?: string;
  /** For @kubernetes/client-node, which refuses plain HTTP unless this is set (kubectl does not care). */
  insecureSkipTlsVerify?: boolean;
}

export function kubeconfigYaml(entries: KubeconfigEntry[], current?: string): string {
  const first = entries[0];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': current ?? first?.name ?? '',
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: { server: e.url, ...(e.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}) },
    })),
    users: entries.map((e) => ({ name: e.name, user: e.token ? { token: e.token } : {} })),
    contexts: entries.map((e) => ({
      name: e.name,
      context: { cluster: e.name, user: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) },
    })),
  });
}

export function writeKubeconfig(file: string, entries: KubeconfigEntry[], current?: string): void {
  fs.writeFileSync(file, kubeconfigYaml(entries, current), { mode: 0o600 });
}
