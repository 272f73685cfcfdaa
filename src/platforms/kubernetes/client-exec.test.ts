/**
 * A kubeconfig user whose credentials come from an exec plugin (aws, gke-gcloud-auth-plugin,
 * kubelogin): the plugin runs before any request is sent, and one that waits for a login never
 * answers. The client gives up at its request timeout, or when the run is aborted, and says which
 * plugin it waited for. (A real child process as the plugin; nothing listens at the server's URL,
 * and nothing is needed to: the wait ends before a connection is tried.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createRedactor } from '../../common/redact.js';
import { createKubeClient } from './client.js';
import { makeTempDir } from '../../../test/support/tmp.js';

const tmp = makeTempDir('handoff-kube-exec-');
afterAll(() => tmp.cleanup());

function kubeconfigWithPlugin(script: string): string {
  const file = path.join(tmp.dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'eks',
      clusters: [{ name: 'eks', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [
        {
          name: 'eks',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              command: process.execPath,
              args: ['-e', script],
              interactiveMode: 'Never',
            },
          },
        },
      ],
      contexts: [{ name: 'eks', context: { cluster: 'eks', user: 'eks' } }],
    }),
    { mode: 0o600 },
  );
  return file;
}

describe('a kubeconfig exec plugin', () => {
  it('that never answers is given up at the request timeout, naming the plugin', async () => {
    const client = createKubeClient(
      { context: 'eks', kubeconfig: kubeconfigWithPlugin('setTimeout(() => {}, 5_000)'), requestTimeoutMs: 400 },
      { redactor: createRedactor() },
    );
    const started = Date.now();
    await expect(client.request({ method: 'GET', path: '/api' })).rejects.toThrow(
      /context "eks" did not get its credentials within 400 ms \(its exec plugin .*node.* did not answer/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('that never answers is given up when the run is aborted', async () => {
    const client = createKubeClient(
      { context: 'eks', kubeconfig: kubeconfigWithPlugin('setTimeout(() => {}, 5_000)'), requestTimeoutMs: 60_000 },
      { redactor: createRedactor() },
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200).unref();
    const started = Date.now();
    await expect(client.request({ method: 'GET', path: '/api', signal: controller.signal })).rejects.toThrow(
      /the run was aborted/,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
