import type { Migration } from '../../plan/schema.js';
import type { Stage, Step } from '../types.js';
import { notImplementedStep } from './not-implemented.js';

/** Resolves every secret reference of the plan, so a missing one stops the run before anything changes. */
export const resolveSecretsStep: Step = {
  name: 'resolve-secrets',
  async run(ctx) {
    let resolved = 0;
    for (const site of ['source', 'target'] as const) {
      for (const database of Object.keys(ctx.plan.spec[site].databases)) {
        ctx.secrets.databaseUrl(site, database);
        resolved++;
      }
    }
    const router = ctx.plan.spec.traffic?.router;
    if (router?.kind === 'builtin' && router.adminToken) {
      ctx.secrets.resolve(router.adminToken, 'spec.traffic.router.adminToken');
      resolved++;
    }
    return { resolved };
  },
};

/** Read-only checks of both sites; any blocker stops the run before anything changes. */
export function preflightStage(plan: Migration): Stage {
  const steps: Step[] = [resolveSecretsStep];
  const kinds = new Set([plan.spec.source.platform.kind, plan.spec.target.platform.kind]);
  if (kinds.has('kubernetes')) {
    steps.push(notImplementedStep('platform-parity', 'Kubernetes preflight (inventory and parity)', 'kubernetes'));
  }
  if (kinds.has('local') && (plan.spec.workloads?.processes?.length ?? 0) > 0) {
    steps.push(notImplementedStep('local-processes', 'local platform preflight (processes)', 'local'));
  }
  if (plan.spec.data.length > 0) {
    steps.push(notImplementedStep('data-preflight', 'PostgreSQL preflight', 'postgres'));
  }
  if (plan.spec.traffic) {
    steps.push(notImplementedStep('router-preflight', 'router preflight', 'traffic'));
  }
  return { name: 'preflight', steps };
}
