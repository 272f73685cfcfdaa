/**
 * Reads one key of a core/v1 Secret through the platform's Kubernetes client
 * (`GET /api/v1/namespaces/NS/secrets/NAME`), decoding its base64 `data`. The value is returned
 * in memory and never logged; why a read failed is one of a few reasons (the Secret is not found,
 * the key is missing or empty, RBAC forbids it, the cluster cannot be reached), with a message
 * that names the Secret and never holds a value. One client per kubeconfig and context.
 */
import { HandoffError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { createKubeClient, KubeApiError, type KubeClient } from './client.js';
import { isObject } from './objects.js';
import type { KubernetesSecretLocation, KubernetesSecretReader, SecretReadResult } from '../../plan/secret-location.js';

export type { KubernetesSecretLocation, KubernetesSecretReader, SecretReadResult };

export interface KubernetesSecretReaderOptions {
  requestTimeoutMs?: number;
}

export interface KubernetesSecretReaderDeps {
  redactor: Redactor;
}

/** The value of a Secret's key: base64 in `data`, one trailing newline trimmed (as for secret files). */
function decodeKey(secret: unknown, location: KubernetesSecretLocation, redactor: Redactor): SecretReadResult {
  const data = isObject(secret) && isObject(secret.data) ? secret.data : {};
  const encoded = data[location.key];
  if (typeof encoded !== 'string') {
    const keys = Object.keys(data).sort();
    return {
      reason: 'key-missing',
      message: `key missing: the Secret has no key "${location.key}" (its keys: ${keys.length > 0 ? keys.join(', ') : 'none'})`,
    };
  }
  const raw = Buffer.from(encoded, 'base64').toString('utf8');
  const value = raw.replace(/\r?\n$/, '');
  // Known to the redactor from the moment it is in memory, with and without the trailing newline.
  redactor.add(raw);
  redactor.add(value);
  if (value === '') return { reason: 'empty', message: `the key "${location.key}" of the Secret is empty` };
  return { value };
}

export function createKubernetesSecretReader(
  options: KubernetesSecretReaderOptions,
  deps: KubernetesSecretReaderDeps,
): KubernetesSecretReader {
  const clients = new Map<string, KubeClient>();
  const clientFor = (location: KubernetesSecretLocation): KubeClient => {
    const id = `${location.kubeconfig ?? ''}\u0000${location.context}`;
    let client = clients.get(id);
    if (!client) {
      client = createKubeClient(
        {
          context: location.context,
          ...(location.kubeconfig ? { kubeconfig: location.kubeconfig } : {}),
          ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
        },
        { redactor: deps.redactor },
      );
      clients.set(id, client);
    }
    return client;
  };

  return {
    async read(location, signal) {
      let client: KubeClient;
      try {
        client = clientFor(location);
      } catch (error) {
        if (!(error instanceof HandoffError)) throw error;
        return { reason: 'unreachable', message: messageOf(error) };
      }
      const path = `/api/v1/namespaces/${encodeURIComponent(location.namespace)}/secrets/${encodeURIComponent(location.name)}`;
      try {
        const secret = await client.request({ method: 'GET', path, ...(signal ? { signal } : {}) });
        return decodeKey(secret, location, deps.redactor);
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error;
        if (error.status === 404) return { reason: 'not-found', message: `Secret not found (404): ${error.message}` };
        if (error.status === 403) return { reason: 'forbidden', message: `forbidden by RBAC (403): ${error.message}` };
        return { reason: 'unreachable', message: `cannot read the Secret: ${error.message}` };
      }
    },
  };
}
