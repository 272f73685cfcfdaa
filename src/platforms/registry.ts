/**
 * The platform registry: an explicit map from a site's `platform.kind` to its factory, so the
 * engine builds a site's Platform without knowing the kinds (an unknown kind cannot pass the plan
 * schema; there is no fallback).
 */
import type { ProcessRegistry } from '../common/children.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, PlatformSpec } from '../plan/schema.js';
import { createKubernetesPlatform } from './kubernetes/kubernetes-platform.js';
import { createLocalPlatform } from './local/local-platform.js';
import type { Platform, SiteName } from './platform.js';

export interface PlatformDeps {
  redactor: Redactor;
  /** The run's state directory (the local platform keeps process lists and logs there). */
  stateDir: string;
  registry: ProcessRegistry;
  env?: NodeJS.ProcessEnv;
  /** The site's database URLs by name, resolved (local processes get them as {{db.NAME}}). */
  databases: Record<string, string>;
}

export type PlatformFactory = (plan: Migration, site: SiteName, deps: PlatformDeps) => Platform;

export const platformFactories: Record<PlatformSpec['kind'], PlatformFactory> = {
  kubernetes: (plan, site, deps) => createKubernetesPlatform({ plan, site }, { redactor: deps.redactor }),
  local: (plan, site, deps) =>
    createLocalPlatform({
      site,
      stateDir: deps.stateDir,
      processes: plan.spec.workloads?.processes ?? [],
      ...(plan.spec[site].endpoint ? { endpoint: plan.spec[site].endpoint } : {}),
      databases: deps.databases,
      registry: deps.registry,
      ...(deps.env ? { env: deps.env } : {}),
    }),
};

/** The Platform for one site of a plan. */
export function createPlatform(plan: Migration, site: SiteName, deps: PlatformDeps): Platform {
  return platformFactories[plan.spec[site].platform.kind](plan, site, deps);
}
