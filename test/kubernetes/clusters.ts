/**
 * Two Kubernetes API test servers (source `eks`, target `gke`) with one kubeconfig holding a
 * context for each, and a plan that moves the `shop` namespace between them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { createRedactor, type Redactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { migration, type Migration, type MigrationInput } from '../../src/plan/schema.js';
import type { PlatformContext } from '../../src/platforms/platform.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer, type KubeTestServerOptions } from '../support/kube/server.js';
import { makeTempDir } from '../support/tmp.js';
import { ECR, GAR, shopNamespace, sourceClusterObjects, targetClusterObjects } from './fixtures.js';

export interface ClusterPair {
  source: KubeTestServer;
  target: KubeTestServer;
  kubeconfig: string;
  dir: string;
  redactor: Redactor;
  close(): Promise<void>;
}

export interface PairOptions {
  source?: KubeTestServerOptions;
  target?: KubeTestServerOptions;
  sourceObjects?: Array<Record<string, unknown>>;
  targetObjects?: Array<Record<string, unknown>>;
  token?: string;
}

export async function startPair(options: PairOptions = {}): Promise<ClusterPair> {
  const tmp = makeTempDir('handoff-kube-');
  const source = await startKubeTestServer({ readyDelayMs: 30, ...options.source });
  const target = await startKubeTestServer({ readyDelayMs: 30, ...options.target });
  source.seed(options.sourceObjects ?? [...sourceClusterObjects, ...shopNamespace()]);
  target.seed(options.targetObjects ?? targetClusterObjects);
  await Promise.all([source.settled(), target.settled()]);
  const kubeconfig = path.join(tmp.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, [
    { name: 'eks', url: source.url, ...(options.source?.token ? { token: options.source.token } : {}) },
    { name: 'gke', url: target.url, ...(options.target?.token ? { token: options.target.token } : {}) },
  ]);
  return {
    source,
    target,
    kubeconfig,
    dir: tmp.dir,
    redactor: createRedactor(),
    close: async () => {
      await Promise.all([source.close(), target.close()]);
      tmp.cleanup();
    },
  };
}

export const fullTransforms = {
  storageClasses: { gp3: 'premium-rwo' },
  ingressClasses: { alb: 'gce' },
  images: { [ECR]: GAR },
  serviceAccounts: { web: { 'iam.gke.io/gcp-service-account': 'shop-web@acme-prod.iam.gserviceaccount.com' } },
  annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': null, 'alb.ingress.kubernetes.io/scheme': null },
};

/** The plan document of the test pair (eks → gke, namespace shop), before validation. */
export function planDocument(
  pair: ClusterPair,
  workloads: MigrationInput['spec']['workloads'] = { selector: { app: 'shop' }, transforms: fullTransforms },
): MigrationInput {
  return {
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'shop-to-gke' },
    spec: {
      source: { platform: { kind: 'kubernetes', context: 'eks', namespace: 'shop', kubeconfig: pair.kubeconfig } },
      target: { platform: { kind: 'kubernetes', context: 'gke', namespace: 'shop', kubeconfig: pair.kubeconfig } },
      workloads,
    },
  };
}

export function planFor(pair: ClusterPair, workloads?: MigrationInput['spec']['workloads']): Migration {
  return migration.parse(planDocument(pair, workloads));
}

/** Writes the pair's plan as YAML in the pair's directory; returns the file. */
export function writePlanFile(
  pair: ClusterPair,
  name = 'plan.yaml',
  transforms: Record<string, unknown> = fullTransforms,
): string {
  const file = path.join(pair.dir, name);
  fs.writeFileSync(file, stringify(planDocument(pair, { selector: { app: 'shop' }, transforms })));
  return file;
}

export function platformContext(runId: string, signal?: AbortSignal): PlatformContext {
  return { runId, logger: createSilentLogger(), ...(signal ? { signal } : {}) };
}

/** Reads a path from an object (`dig(o, 'spec', 'containers', 0, 'image')`). */
export function dig(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
