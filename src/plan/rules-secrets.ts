/**
 * Rules about secrets in a plan: a database URL written literally must hold no password (the
 * message says how to reference it instead, and never repeats the password), other URLs must hold
 * no credentials, and the two sites must not point at the same database.
 */
import { InputError } from '../common/errors.js';
import { parseDatabaseUrl } from '../data/postgres/identifiers.js';
import type { PlanPath } from './path.js';
import { analysisBlocks, type Rule, type RuleContext } from './rule-context.js';
import type { SecretRef } from './schema.js';

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
      ctx.report(path, 'the URL holds credentials (user:password@); a plan must not contain secrets, remove them from the URL');
    }
  } catch {
    // The schema has checked the URL already.
  }
}

function sameReference(a: string | SecretRef, b: string | SecretRef): string | undefined {
  if (typeof a === 'string' || typeof b === 'string') return a === b ? 'the same URL' : undefined;
  if ('fromEnv' in a && 'fromEnv' in b && a.fromEnv === b.fromEnv) return `the same environment variable ${a.fromEnv}`;
  if ('fromFile' in a && 'fromFile' in b && a.fromFile === b.fromFile) return `the same file ${a.fromFile}`;
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
    const same = sameReference(other.url, database.url);
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
  spec.approvals.forEach((approval, index) => checkNoCredentials(ctx, ['spec', 'approvals', index, 'webhook'], approval.webhook));
};

export const secretRules: readonly Rule[] = [literalDatabaseUrls, distinctDatabases, urlsWithoutCredentials];
