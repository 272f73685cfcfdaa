/**
 * The kubernetes platform against the Kubernetes API test server:
 * - apply: server-side apply of N ConfigMaps by handoff's client (sequential, as provision does),
 *   against `kubectl apply --server-side` of the same objects in one invocation, in the same run;
 * - transform: translating N exported Deployments against a bare structuredClone of them.
 * Velero's published figure for API restores is about 10 objects/s (restore of 31k Secrets, #6845).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createRedactor } from '../src/common/redact.js';
import { applyObjects } from '../src/platforms/kubernetes/apply.js';
import { createKubeClient } from '../src/platforms/kubernetes/client.js';
import { openCluster } from '../src/platforms/kubernetes/cluster.js';
import { parseKubeObject } from '../src/platforms/kubernetes/objects.js';
import { transformObjects } from '../src/platforms/kubernetes/transform.js';
import { kubectl } from '../test/support/kube/kubectl.js';
import { writeKubeconfig } from '../test/support/kube/kubeconfig.js';
import { startKubeTestServer } from '../test/support/kube/server.js';
import type { Benchmark } from './harness.js';

const N = 300;

function configMaps(namespace: string) {
  return Array.from({ length: N }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace },
    data: { index: String(i), payload: 'x'.repeat(512) },
  }));
}

export const kubernetesBenchmark: Benchmark = {
  name: 'kubernetes',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-kube-'));
    const server = await startKubeTestServer({ readyDelayMs: 50 });
    try {
      server.seed([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
      ]);
      const kubeconfig = path.join(dir, 'kubeconfig');
      writeKubeconfig(kubeconfig, [{ name: 'bench', url: server.url }]);
      const file = path.join(dir, 'objects.yaml');
      fs.writeFileSync(
        file,
        configMaps('a')
          .map((o) => stringify(o))
          .join('---\n'),
      );
      let start = performance.now();
      const result = await kubectl(['apply', '--server-side', '-f', file], {
        kubeconfig,
        cacheDir: path.join(dir, 'cache'),
        timeoutMs: 120_000,
      });
      if (result.code !== 0) throw new Error(`kubectl failed: ${result.stderr}`);
      const kubectlMs = performance.now() - start;

      const cluster = await openCluster(
        createKubeClient({ context: 'bench', kubeconfig }, { redactor: createRedactor() }),
      );
      const objects = configMaps('b').map((o) => parseKubeObject(o, 'bench'));
      start = performance.now();
      await applyObjects(cluster, objects, { migration: 'bench', runId: 'r1' });
      const handoffMs = performance.now() - start;
      start = performance.now();
      const again = await applyObjects(cluster, objects, { migration: 'bench', runId: 'r2' });
      const rerunMs = performance.now() - start;
      if (again.unchanged.length !== N) throw new Error(`re-apply changed ${N - again.unchanged.length} objects`);

      const deployments = Array.from({ length: 2000 }, (_, i) =>
        parseKubeObject(
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: {
              name: `d-${i}`,
              namespace: 'shop',
              uid: 'u',
              resourceVersion: '1',
              managedFields: [{ manager: 'x' }],
            },
            spec: {
              template: {
                spec: {
                  nodeName: 'n',
                  containers: [{ name: 'c', image: `123.dkr.ecr.us-east-1.amazonaws.com/app:${i}` }],
                },
              },
            },
            status: { replicas: 1 },
          },
          'bench',
        ),
      );
      start = performance.now();
      for (let i = 0; i < 5; i++) structuredClone(deployments);
      const cloneMs = (performance.now() - start) / 5;
      start = performance.now();
      for (let i = 0; i < 5; i++)
        transformObjects(deployments, {
          transforms: { images: { '123.dkr.ecr.us-east-1.amazonaws.com/': 'us-docker.pkg.dev/acme/' } },
        });
      const transformMs = (performance.now() - start) / 5;

      const perSecond = (ms: number): number => Math.round((N / ms) * 1000);
      return {
        benchmark: 'kubernetes',
        baseline: `kubectl apply --server-side of the same ${N} ConfigMaps (one invocation); structuredClone for transform`,
        measurements: [
          {
            name: 'handoff apply (a get and a server-side apply per object)',
            value: perSecond(handoffMs),
            unit: 'objects/s',
          },
          { name: 'handoff re-apply (converged, no change)', value: perSecond(rerunMs), unit: 'objects/s' },
          { name: 'kubectl apply --server-side', value: perSecond(kubectlMs), unit: 'objects/s' },
          { name: 'transform 2000 Deployments', value: Math.round(transformMs), unit: 'ms' },
          { name: 'structuredClone 2000 Deployments', value: Math.round(cloneMs), unit: 'ms' },
        ],
        ratios: {
          'handoff apply / kubectl apply (objects/s)': Number((kubectlMs / handoffMs).toFixed(2)),
          'transform / clone (time)': Number((transformMs / cloneMs).toFixed(2)),
        },
        targets: [
          {
            name: 'apply faster than Velero restores (~10 objects/s)',
            target: '> 10 objects/s',
            met: perSecond(handoffMs) > 10,
          },
        ],
        notes: [
          'Against the in-process API test server on 127.0.0.1: the client and protocol cost, not a real API server or etcd.',
        ],
      };
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
