/**
 * The one preflight: the read-only checks that must find every blocker before a run changes
 * anything, and the one function that runs them. `handoff preflight -f plan.yaml` runs every check
 * that applies to the plan at once; the run's preflight stage runs the same checks, one step each
 * (so each is recorded), then stops on any blocker. Both get their adapters from the engine's
 * runtime, so the command prints exactly the findings the run would stop on.
 *
 * A check is a plain object in `PREFLIGHT_CHECKS`: to add one (a new component, a new kind of
 * reference), write it here and add it to the list; both the command and the stage pick it up.
 */
import { CheckFailedError } from '../common/errors.js';
import { sortFindings, type Finding } from '../common/findings.js';
import type { DataPlane } from '../data/data-plane.js';
import type { Redactor } from '../common/redact.js';
import type { Platform, PlatformContext, SiteName } from '../platforms/platform.js';
import { formatPath } from '../plan/path.js';
import type { Migration } from '../plan/schema.js';
import { kubernetesSecretFindings } from '../plan/secret-check.js';
import type { ResolvedSecrets } from '../plan/secrets.js';
import { routerCapabilityFindings } from '../traffic/capability-findings.js';
import type { TrafficRouter } from '../traffic/router.js';
import type { Runtime } from './runtime.js';
import type { StepContext } from './step.js';

/** What a check may use: the plan, its resolved secrets, and the adapters the runtime builds. */
export interface PreflightEnv {
  plan: Migration;
  secrets: ResolvedSecrets;
  redactor: Redactor;
  platformContext: PlatformContext;
  platform(site: SiteName): Platform;
  dataPlane(): DataPlane;
  /** The plan's traffic router, built or connected as the run would; throws when it cannot be. */
  router(): Promise<TrafficRouter>;
}

/**
 * The preflight's view of a step (of the run, or the command's own): the plan, its secrets, the
 * runtime's adapters. `runtime` is asked only when a check needs an adapter (the secrets check
 * needs none, so it runs where stages are built without one).
 */
export function preflightEnvOf(ctx: StepContext, runtimeOf: () => Runtime): PreflightEnv {
  return {
    plan: ctx.plan,
    secrets: ctx.secrets,
    redactor: ctx.redactor,
    platformContext: { runId: ctx.runId, logger: ctx.logger, signal: ctx.signal },
    platform: (site) => runtimeOf().platform(ctx, site),
    dataPlane: () => runtimeOf().dataPlane(ctx.plan),
    router: () => runtimeOf().router(ctx),
  };
}

export interface CheckResult {
  findings: Finding[];
  /** Small JSON facts for the step result and the command's report (size estimates, counts). */
  details?: Record<string, unknown>;
}

export interface PreflightCheck {
  /** Findings are recorded (and the `preflight-findings` event emitted) under this name. */
  component: string;
  /** The run's step that performs it (never rename a shipped step). */
  step: string;
  appliesTo(plan: Migration): boolean;
  /** Read-only. Throws only for bad input (a malformed reference or URL): findings say everything else. */
  run(env: PreflightEnv): Promise<CheckResult>;
}

export interface ComponentFindings {
  component: string;
  findings: Finding[];
  details: Record<string, unknown>;
}

export interface PreflightResult {
  components: ComponentFindings[];
  /** Every component's findings, blockers first. */
  findings: Finding[];
  ok: boolean;
}

const SITES = ['source', 'target'] as const;

/** Plan paths of the `fromSecret` references that could not be read (findings `secret.unreadable`). */
function unreadablePaths(env: PreflightEnv): Set<string> {
  return new Set(kubernetesSecretFindings(env.plan, env.secrets).map((f) => f.subject));
}

const databaseUrlPath = (site: SiteName, database: string): string =>
  formatPath(['spec', site, 'databases', database, 'url']);

/**
 * Secret references: a Kubernetes Secret that cannot be read is a `secret.unreadable` blocker; any
 * other reference is resolved now, so a missing one stops everything as bad input (exit 2).
 */
export const secretsCheck: PreflightCheck = {
  component: 'secrets',
  step: 'resolve-secrets',
  appliesTo: () => true,
  async run(env) {
    const findings = kubernetesSecretFindings(env.plan, env.secrets);
    const unreadable = new Set(findings.map((f) => f.subject));
    let resolved = 0;
    for (const site of SITES) {
      for (const database of Object.keys(env.plan.spec[site].databases)) {
        if (unreadable.has(databaseUrlPath(site, database))) continue;
        env.secrets.databaseUrl(site, database);
        resolved++;
      }
    }
    const router = env.plan.spec.traffic?.router;
    const tokenPath = 'spec.traffic.router.adminToken';
    if (router?.kind === 'builtin' && router.adminToken && !unreadable.has(tokenPath)) {
      env.secrets.resolve(router.adminToken, tokenPath);
      resolved++;
    }
    return { findings, details: { resolved } };
  },
};

function platformSites(plan: Migration): SiteName[] {
  const hasProcesses = (plan.spec.workloads?.processes?.length ?? 0) > 0;
  return SITES.filter((site) => plan.spec[site].platform.kind === 'kubernetes' || hasProcesses);
}

/** Each site's platform: Kubernetes parity (the target's check covers both clusters), local processes. */
export const platformCheck: PreflightCheck = {
  component: 'platform',
  step: 'platform-preflight',
  appliesTo: (plan) => platformSites(plan).length > 0,
  async run(env) {
    const findings: Finding[] = [];
    for (const site of platformSites(env.plan))
      findings.push(...(await env.platform(site).preflight(env.platformContext)));
    return { findings };
  },
};

/** Every `spec.data[]` pair through the data plane; subjects name the database (`orders: public.items`). */
export const dataCheck: PreflightCheck = {
  component: 'data',
  step: 'data-preflight',
  appliesTo: (plan) => plan.spec.data.length > 0,
  async run(env) {
    const data = env.dataPlane();
    const unreadable = unreadablePaths(env);
    const findings: Finding[] = [];
    const estimates: Array<{ database: string; ok: boolean; estimate: unknown }> = [];
    for (const entry of env.plan.spec.data) {
      // A database whose URL cannot be read is not connected to: secret.unreadable already blocks.
      if (SITES.some((site) => unreadable.has(databaseUrlPath(site, entry.database)))) {
        estimates.push({ database: entry.database, ok: false, estimate: null });
        continue;
      }
      const report = await data.preflight({
        entry,
        sourceUrl: env.secrets.databaseUrl('source', entry.database),
        targetUrl: env.secrets.databaseUrl('target', entry.database),
        redactor: env.redactor,
      });
      findings.push(...report.findings.map((f) => ({ ...f, subject: `${entry.database}: ${f.subject}` })));
      estimates.push({ database: entry.database, ok: report.ok, estimate: report.estimate });
    }
    return { findings, details: { estimates } };
  },
};

/**
 * The router: what it cannot do that the plan relies on (from its capabilities), whether it runs in
 * this process, and whether it can be driven at all (built or reached, knows both sites).
 */
export const routerCheck: PreflightCheck = {
  component: 'router',
  step: 'router-preflight',
  appliesTo: (plan) => plan.spec.traffic !== undefined,
  async run(env) {
    const findings: Finding[] = [...routerCapabilityFindings(env.plan.spec)];
    const spec = env.plan.spec.traffic?.router;
    if (spec?.kind === 'builtin' && !spec.admin) {
      findings.push({
        id: 'router.in-process',
        severity: 'warning',
        subject: 'spec.traffic.router',
        message:
          'the built-in router runs inside this handoff process: when the run ends, pauses or is interrupted, the router stops and clients lose the service',
        remediation:
          'run `handoff router` as its own process (a Deployment in Kubernetes) and give spec.traffic.router.admin and adminToken',
      });
    }
    // An admin token that could not be read is secret.unreadable already; connecting would only say so again.
    if (unreadablePaths(env).has('spec.traffic.router.adminToken')) return { findings };
    try {
      const snapshot = await (await env.router()).snapshot();
      for (const site of SITES) {
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
        message: env.redactor.redact(
          `the router cannot be driven: ${error instanceof Error ? error.message : String(error)}`,
        ),
        remediation:
          'start `handoff router` with an admin address and token, and reference them in spec.traffic.router',
      });
    }
    return { findings };
  },
};

/** Every check, in the order both the command and the run perform them. */
export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [secretsCheck, platformCheck, dataCheck, routerCheck];

/** The checks that apply to a plan, in order. */
export function preflightChecksFor(
  plan: Migration,
  checks: readonly PreflightCheck[] = PREFLIGHT_CHECKS,
): PreflightCheck[] {
  return checks.filter((check) => check.appliesTo(plan));
}

/**
 * The one preflight: runs the given checks (by default every one that applies to the plan) in order
 * and returns their findings per component and together. The run's stage passes one check per step.
 */
export async function runPreflight(
  env: PreflightEnv,
  checks: readonly PreflightCheck[] = preflightChecksFor(env.plan),
): Promise<PreflightResult> {
  const components: ComponentFindings[] = [];
  for (const check of checks) {
    const result = await check.run(env);
    components.push({ component: check.component, findings: result.findings, details: result.details ?? {} });
  }
  const findings = sortFindings(components.flatMap((c) => c.findings));
  return { components, findings, ok: !findings.some((f) => f.severity === 'blocker') };
}

/** The error a run stops with when findings hold blockers; null when none do. */
export function blockersError(findings: readonly Finding[]): CheckFailedError | null {
  const blockers = findings.filter((f) => f.severity === 'blocker');
  if (blockers.length === 0) return null;
  const list = blockers.map((f) => `${f.id} (${f.subject}): ${f.message}`).join('; ');
  return new CheckFailedError(`preflight found ${blockers.length} blocker(s): ${list}`);
}
