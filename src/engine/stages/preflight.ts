import { CheckFailedError } from '../../common/errors.js';
import type { Finding } from '../../common/findings.js';
import type { Migration } from '../../plan/schema.js';
import { kubernetesSecretFindings } from '../../plan/secret-check.js';
import type { Step, StepContext } from '../step.js';
import type { Stage, StageDeps } from '../stage.js';
import { routerCapabilityFindings } from '../../traffic/capability-findings.js';
import { runtimeOf } from './support.js';
import { platformContext } from './support.js';

/** Resolves every secret reference of the plan, so a missing one stops the run before anything changes. */
export const resolveSecretsStep: Step = {
  name: 'resolve-secrets',
  async run(ctx) {
    // Kubernetes Secrets were read when the execution started; what could not be read stops the run here.
    const unreadable = kubernetesSecretFindings(ctx.plan, ctx.secrets);
    if (unreadable.length > 0) {
      record(ctx, 'secrets', unreadable);
      const list = unreadable.map((f) => `${f.id} (${f.subject}): ${f.message}`).join('; ');
      throw new CheckFailedError(`preflight found ${unreadable.length} blocker(s): ${list}`);
    }
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

const FINDINGS = 'preflight.findings';

function record(ctx: StepContext, check: string, findings: Finding[]): { blockers: number; warnings: number } {
  const all = ctx.state.get<Record<string, Finding[]>>(FINDINGS) ?? {};
  all[check] = findings;
  ctx.state.set(FINDINGS, all);
  ctx.events.emit('preflight-findings', { component: check, findings }, { subject: check });
  return {
    blockers: findings.filter((f) => f.severity === 'blocker').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

/** Read-only checks of both sites; any blocker stops the run before anything changes. */
export function preflightStage(plan: Migration, deps: StageDeps): Stage {
  const steps: Step[] = [resolveSecretsStep];
  const hasProcesses = (plan.spec.workloads?.processes?.length ?? 0) > 0;
  const sites = (['source', 'target'] as const).filter(
    (site) => plan.spec[site].platform.kind === 'kubernetes' || hasProcesses,
  );
  if (sites.length > 0) {
    steps.push({
      name: 'platform-preflight',
      async run(ctx) {
        const runtime = runtimeOf(deps);
        const findings: Finding[] = [];
        for (const site of sites) findings.push(...(await runtime.platform(ctx, site).preflight(platformContext(ctx))));
        return record(ctx, 'platform', findings);
      },
    });
  }
  if (plan.spec.data.length > 0) {
    steps.push({
      name: 'data-preflight',
      async run(ctx) {
        const data = runtimeOf(deps).dataPlane(ctx.plan);
        const findings: Finding[] = [];
        const estimates: unknown[] = [];
        for (const entry of ctx.plan.spec.data) {
          const report = await data.preflight({
            entry,
            sourceUrl: ctx.secrets.databaseUrl('source', entry.database),
            targetUrl: ctx.secrets.databaseUrl('target', entry.database),
            redactor: ctx.redactor,
          });
          findings.push(...report.findings.map((f) => ({ ...f, subject: `${entry.database}: ${f.subject}` })));
          estimates.push({ database: entry.database, ...report.estimate });
        }
        return { ...record(ctx, 'data', findings), estimates };
      },
    });
  }
  if (plan.spec.traffic) {
    steps.push({
      name: 'router-preflight',
      async run(ctx) {
        const findings: Finding[] = [];
        const spec = ctx.plan.spec.traffic?.router;
        findings.push(...routerCapabilityFindings(ctx.plan.spec));
        if (spec?.kind === 'builtin' && !spec.admin) {
          findings.push({
            id: 'router.in-process',
            severity: 'warning',
            subject: 'spec.traffic.router',
            message: 'the built-in router runs inside this handoff process: when the run ends, pauses or is interrupted, the router stops and clients lose the service',
            remediation: 'run `handoff router` as its own process (a Deployment in Kubernetes) and give spec.traffic.router.admin and adminToken',
          });
        }
        try {
          const snapshot = await (await runtimeOf(deps).router(ctx)).snapshot();
          for (const site of ['source', 'target']) {
            if (!(site in snapshot.routes.reads)) {
              findings.push({
                id: 'router.site-missing',
                severity: 'blocker',
                subject: site,
                message: `the router has no site named ${site}`,
                remediation: 'start the router with --site source=URL --site target=URL',
              });
            }
          }
        } catch (error) {
          findings.push({
            id: 'router.unreachable',
            severity: 'blocker',
            subject: 'spec.traffic.router',
            message: `the router cannot be driven: ${error instanceof Error ? error.message : String(error)}`,
            remediation: 'start `handoff router` with an admin address and token, and reference them in spec.traffic.router',
          });
        }
        return record(ctx, 'router', findings);
      },
    });
  }
  steps.push({
    name: 'judge-findings',
    async run(ctx) {
      const all = Object.values(ctx.state.get<Record<string, Finding[]>>(FINDINGS) ?? {}).flat();
      const blockers = all.filter((f) => f.severity === 'blocker');
      if (blockers.length > 0) {
        const list = blockers.map((f) => `${f.id} (${f.subject}): ${f.message}`).join('; ');
        throw new CheckFailedError(`preflight found ${blockers.length} blocker(s): ${list}`);
      }
      return { findings: all.length, warnings: all.filter((f) => f.severity === 'warning').length };
    },
  });
  return { name: 'preflight', steps };
}
