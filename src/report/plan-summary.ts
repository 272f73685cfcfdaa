/**
 * What a run moves, read from the plan text the run started with (kept in the state store): the
 * sites, the databases and their tables, the workloads and the router. Secrets are references in a
 * plan, so nothing here is secret; the report still passes it through the redactor.
 */
import { HandoffError } from '../common/errors.js';
import { loadPlanText } from '../plan/load.js';
import type { Migration, SiteSpec } from '../plan/schema.js';
import type { ReportMoved, ReportSite } from './model-types.js';

function platformText(site: SiteSpec): string {
  const platform = site.platform;
  return platform.kind === 'kubernetes' ? `kubernetes ${platform.context}/${platform.namespace}` : 'local processes';
}

function site(name: 'source' | 'target', spec: SiteSpec): ReportSite {
  return {
    name,
    platform: platformText(spec),
    endpoint: spec.endpoint ?? null,
    databases: Object.keys(spec.databases),
  };
}

function workloadsText(plan: Migration): string[] {
  const workloads = plan.spec.workloads;
  if (!workloads) return [];
  const out: string[] = [];
  for (const process of workloads.processes ?? []) {
    out.push(
      `process ${process.name} (${process.replicas} ${process.replicas === 1 ? 'replica' : 'replicas'}): ${process.command}`,
    );
  }
  if (workloads.selector) {
    const labels = Object.entries(workloads.selector).map(([key, value]) => `${key}=${value}`);
    out.push(`Kubernetes workloads selected by ${labels.join(', ')}`);
  }
  for (const namespace of workloads.namespaces ?? []) out.push(`namespace ${namespace}`);
  return out;
}

function routerText(plan: Migration): string | null {
  const router = plan.spec.traffic?.router;
  if (!router) return null;
  if (router.kind === 'builtin') return `builtin router on ${router.listen}`;
  if (router.kind === 'gateway-api') return `Gateway API HTTPRoute ${router.route}`;
  return `DNS record ${router.record}`;
}

export function summarizePlan(planText: string, planFile: string): ReportMoved {
  let plan: Migration;
  try {
    plan = loadPlanText(planText, planFile).plan;
  } catch (error) {
    const why = error instanceof HandoffError ? error.message.split('\n')[0] : String(error);
    const unknown: ReportSite = { name: 'source', platform: 'unknown', endpoint: null, databases: [] };
    return {
      source: unknown,
      target: { ...unknown, name: 'target' },
      databases: [],
      workloads: [],
      router: null,
      planProblem: `the stored plan could not be read again: ${why ?? 'unknown problem'}`,
    };
  }
  return {
    source: site('source', plan.spec.source),
    target: site('target', plan.spec.target),
    databases: plan.spec.data.map((entry) => ({ database: entry.database, tables: [...entry.tables] })),
    workloads: workloadsText(plan),
    router: routerText(plan),
    planProblem: null,
  };
}
