/**
 * The Kubernetes side of a plan: which kubeconfig contexts and namespaces its sites use, and the
 * export → transform pipeline shared by `handoff export`, preflight and provision.
 */
import { AdapterError, PlanError, type PlanLocation } from '../../common/errors.js';
import type { PlanPath } from '../../plan/path.js';
import type { Redactor } from '../../common/redact.js';
import type { Migration } from '../../plan/schema.js';
import { createKubeClient } from './client.js';
import { openCluster, type Cluster } from './cluster.js';
import { exportWorkloads, type ExportResult } from './export.js';
import { transformObjects, type TransformResult } from './transform.js';

export type KubernetesSite = Extract<Migration['spec']['source']['platform'], { kind: 'kubernetes' }>;

export interface MigrationDeps {
  redactor: Redactor;
  /** Per-request timeout for API calls. */
  requestTimeoutMs?: number;
}

/** Where a loaded plan's values are (`LoadedPlan`), for errors that point into the file. */
export interface PlanSource {
  file: string;
  locate(path: PlanPath): PlanLocation;
}

export function kubernetesSite(plan: Migration, site: 'source' | 'target', from?: PlanSource): KubernetesSite {
  const platform = plan.spec[site].platform;
  if (platform.kind !== 'kubernetes') {
    const path = ['spec', site, 'platform', 'kind'];
    const at = from?.locate(path);
    throw new PlanError([
      {
        file: from?.file ?? '(plan)',
        line: at?.line ?? 1,
        column: at?.column ?? 1,
        path: path.join('.'),
        message: `the kubernetes platform needs a kubernetes ${site}, not "${platform.kind}"`,
      },
    ]);
  }
  return platform;
}

/** Namespaces read on the source, and how they map to the target. */
export function namespacesOf(plan: Migration): { source: string[]; map: Record<string, string> } {
  const source = kubernetesSite(plan, 'source');
  const target = kubernetesSite(plan, 'target');
  const listed = plan.spec.workloads?.namespaces;
  if (listed && listed.length > 0) return { source: listed, map: {} };
  return {
    source: [source.namespace],
    map: source.namespace === target.namespace ? {} : { [source.namespace]: target.namespace },
  };
}

export async function openSite(
  plan: Migration,
  site: 'source' | 'target',
  deps: MigrationDeps,
  signal?: AbortSignal,
): Promise<Cluster> {
  const spec = kubernetesSite(plan, site);
  const client = createKubeClient(
    {
      context: spec.context,
      ...(spec.kubeconfig ? { kubeconfig: spec.kubeconfig } : {}),
      ...(deps.requestTimeoutMs ? { requestTimeoutMs: deps.requestTimeoutMs } : {}),
    },
    { redactor: deps.redactor },
  );
  return openCluster(client, signal);
}

export interface Translation {
  exported: ExportResult;
  translated: TransformResult;
}

/**
 * Exports the plan's workloads from the source and translates them for the target. Read-only.
 * With `requireSelection`, a missing namespace or a selector matching nothing is an error.
 */
export async function exportAndTransform(
  plan: Migration,
  source: Cluster,
  signal?: AbortSignal,
  options: { requireSelection?: boolean } = {},
): Promise<Translation> {
  const namespaces = namespacesOf(plan);
  const selector = plan.spec.workloads?.selector;
  const exported = await exportWorkloads(source, {
    namespaces: namespaces.source,
    ...(selector ? { selector } : {}),
    ...(signal ? { signal } : {}),
  });
  if (options.requireSelection && (exported.missingNamespaces.length > 0 || exported.selected === 0)) {
    throw new AdapterError(
      exported.missingNamespaces.length > 0
        ? `the source cluster ${source.client.context} has no namespace ${exported.missingNamespaces.join(', ')}`
        : `nothing on the source cluster ${source.client.context} matches spec.workloads.selector in ${namespaces.source.join(', ')}`,
    );
  }
  const transforms = plan.spec.workloads?.transforms;
  const translated = transformObjects(exported.objects, {
    ...(transforms ? { transforms } : {}),
    namespaces: namespaces.map,
  });
  return { exported, translated };
}
