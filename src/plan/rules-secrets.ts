/**
 * Rules about secrets in a plan: a database URL written literally must hold no password (the
 * message says how to reference it instead, and never repeats the password), other URLs must hold
 * no credentials, the two sites must not point at the same database, and a `fromSecret` reference
 * must have a Kubernetes context and namespace to read from (its site's, or its own outside a site).
 */
import { InputError } from '../common/errors.js';
import { parseDatabaseUrl } from '../data/postgres/identifiers.js';
import type { PlanPath } from './path.js';
import { analysisBlocks, type Rule, type RuleContext } from './rule-context.js';
import type { Migration, SecretRef } from './schema.js';
import { isKubernetesRef, locateKubernetesRef, siteOfPath } from './secret-location.js';
import { findSecretRefs } from './secrets.js';

const SITES = ['source', 'target'] as const;

/** Whether a literal database URL or libpq keyword string carries a password. */
export function literalHasPassword(text: string): boolean {
  if (/(?:^|\s)password\s*=/i.test(text)) return true;
  try {
    const url = new URL(text);
    if (url.password !== '') return true;
    for (const key of url.searchParams.keys()) if (key.toLowerCase() === 'password') return true;
  } catch {
    // Not a URL: the keyword form was checked above; other problems are reported elsewhere.
  }
  return false;
}

function envName(site: string, database: string): string {
  return `${site}_${database}_DB`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

function checkDatabaseUrl(ctx: RuleContext, site: 'source' | 'target', name: string, url: string): void {
  const path: PlanPath = ['spec', site, 'databases', name, 'url'];
  if (literalHasPassword(url)) {
    ctx.report(
      path,
      `the database URL holds a literal password; a plan must not contain secrets. Put the whole URL in an environment variable and write url: { fromEnv: ${envName(site, name)} }, or in a file and write url: { fromFile: PATH } (relative to the plan)`,
    );
    return;
  }
  try {
    parseDatabaseUrl(url, 'database URL');
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    ctx.report(path, error.message);
  }
}

function checkNoCredentials(ctx: RuleContext, path: PlanPath, text: string | undefined): void {
  if (text === undefined) return;
  try {
    const url = new URL(text);
    if (url.password !== '' || url.username !== '') {
      ctx.report(
        path,
        'the URL holds credentials (user:password@); a plan must not contain secrets, remove them from the URL',
      );
    }
  } catch {
    // The schema has checked the URL already.
  }
}

function sameReference(
  plan: Migration,
  name: string,
  a: string | SecretRef,
  b: string | SecretRef,
): string | undefined {
  if (typeof a === 'string' || typeof b === 'string') return a === b ? 'the same URL' : undefined;
  if ('fromEnv' in a && 'fromEnv' in b && a.fromEnv === b.fromEnv) return `the same environment variable ${a.fromEnv}`;
  if ('fromFile' in a && 'fromFile' in b && a.fromFile === b.fromFile) return `the same file ${a.fromFile}`;
  if (isKubernetesRef(a) && isKubernetesRef(b)) {
    const from = locateKubernetesRef(plan, ['spec', 'source', 'databases', name, 'url'], a);
    const to = locateKubernetesRef(plan, ['spec', 'target', 'databases', name, 'url'], b);
    if ('problem' in from || 'problem' in to) return undefined;
    if (
      from.context === to.context &&
      from.namespace === to.namespace &&
      from.name === to.name &&
      from.key === to.key
    ) {
      return `the same Kubernetes Secret key (${from.namespace}/${from.name} key ${from.key}, context ${from.context})`;
    }
  }
  return undefined;
}

const literalDatabaseUrls: Rule = (ctx) => {
  for (const site of SITES) {
    for (const [name, database] of Object.entries(ctx.plan.spec[site].databases)) {
      if (typeof database.url === 'string') checkDatabaseUrl(ctx, site, name, database.url);
    }
  }
};

const distinctDatabases: Rule = (ctx) => {
  const { source, target } = ctx.plan.spec;
  for (const [name, database] of Object.entries(target.databases)) {
    const other = source.databases[name];
    if (other === undefined) continue;
    const same = sameReference(ctx.plan, name, other.url, database.url);
    if (same !== undefined) {
      ctx.report(
        ['spec', 'target', 'databases', name, 'url'],
        `source and target database "${name}" use ${same}; replication needs two different databases`,
      );
    }
  }
};

const urlsWithoutCredentials: Rule = (ctx) => {
  const { spec } = ctx.plan;
  for (const site of SITES) checkNoCredentials(ctx, ['spec', site, 'endpoint'], spec[site].endpoint);
  for (const { path, analysis } of analysisBlocks(ctx.plan)) {
    checkNoCredentials(ctx, [...path, 'prometheus', 'url'], analysis.prometheus?.url);
    analysis.checks?.forEach((check, index) => checkNoCredentials(ctx, [...path, 'checks', index, 'url'], check.url));
  }
  spec.approvals.forEach((approval, index) =>
    checkNoCredentials(ctx, ['spec', 'approvals', index, 'webhook'], approval.webhook),
  );
  const sink = spec.audit?.sink;
  if (sink && 'webhook' in sink) checkNoCredentials(ctx, ['spec', 'audit', 'sink', 'webhook', 'url'], sink.webhook.url);
};

/** A `fromSecret` needs a Kubernetes site, or its own context and namespace outside the sites. */
const kubernetesReferences: Rule = (ctx) => {
  for (const { path, ref } of findSecretRefs(ctx.plan)) {
    if (!isKubernetesRef(ref)) continue;
    const site = siteOfPath(path);
    const platform = site ? ctx.plan.spec[site].platform : undefined;
    if (platform && platform.kind !== 'kubernetes') {
      ctx.report(
        [...path, 'fromSecret'],
        `fromSecret reads a Kubernetes Secret, but the ${site} site's platform is ${platform.kind}, which has no Kubernetes Secrets; use { fromEnv: NAME } or { fromFile: PATH }`,
      );
      continue;
    }
    const location = locateKubernetesRef(ctx.plan, path, ref);
    if ('problem' in location) ctx.report([...path, 'fromSecret'], location.problem);
  }
};

export const secretRules: readonly Rule[] = [
  literalDatabaseUrls,
  distinctDatabases,
  urlsWithoutCredentials,
  kubernetesReferences,
];
