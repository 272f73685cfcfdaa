/**
 * Resolves the secret references of a loaded plan, late: only when a command needs the values.
 * `fromEnv` reads a variable (set and non-empty), `fromFile` reads a file relative to the plan's
 * directory (one trailing newline trimmed), `fromSecret` reads a key of a Kubernetes Secret through
 * the Kubernetes platform's reader when `loadKubernetes` is awaited (a run's execution, preflight),
 * into memory only. Every value is registered with the redactor before it is returned (the
 * Kubernetes reader registers it as soon as it is decoded), and so is the decoded password of
 * every database URL. Errors name the path and the reference, never a value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HandoffError, InputError, InternalError, SecretUnresolvedError, type PlanIssue } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { parseDatabaseUrl } from '../data/postgres/identifiers.js';
import type { LoadedPlan } from './load.js';
import { formatPath } from './path.js';
import { secretRef, type SecretRef } from './schema.js';
import {
  describeLocation,
  isKubernetesRef,
  locateKubernetesRef,
  type KubernetesSecretReader,
  type SecretReadReason,
} from './secret-location.js';

/** Secret files larger than this are refused (a URL or a token is tiny). */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface ResolvedSecrets {
  /** The URL of a site's database, resolved; throws InputError when the plan does not define it. */
  databaseUrl(site: 'source' | 'target', database: string): string;
  /** Resolves one reference (`path` names where it sits, for messages). */
  resolve(ref: SecretRef, path: string): string;
}

/** The resolver of a plan: also reads its Kubernetes Secret references when told to. */
export interface PlanSecrets extends ResolvedSecrets {
  /**
   * Reads every `fromSecret` reference of the plan (each Secret key once) into memory. Never throws
   * for a Secret that cannot be read: resolving that reference throws SecretUnresolvedError with
   * the reason (details.reason). Reads again only what failed before.
   */
  loadKubernetes(reader: KubernetesSecretReader, signal?: AbortSignal): Promise<void>;
  /** How many references of the plan are `fromSecret`. */
  readonly kubernetesRefs: number;
}

/** What `loadKubernetes` found for one reference (by plan path). */
type KubeRead = { value: string } | { problem: string; reason: SecretReadReason | 'plan' };

export interface ResolveSecretsOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  redactor: Redactor;
}

interface FoundRef {
  path: Array<string | number>;
  ref: SecretRef;
}

/** Every secret reference in a validated plan, with its path. */
export function findSecretRefs(value: unknown, at: Array<string | number> = []): FoundRef[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => findSecretRefs(item, [...at, index]));
  if (typeof value !== 'object' || value === null) return [];
  const asRef = secretRef.safeParse(value);
  if (asRef.success) return [{ path: at, ref: asRef.data }];
  return Object.entries(value).flatMap(([key, inner]) => findSecretRefs(inner, [...at, key]));
}

function describeRef(ref: SecretRef): string {
  if ('fromEnv' in ref) return `environment variable ${ref.fromEnv}`;
  if ('fromFile' in ref) return `file ${ref.fromFile}`;
  return `Kubernetes Secret ${ref.fromSecret.namespace ? `${ref.fromSecret.namespace}/` : ''}${ref.fromSecret.name} key ${ref.fromSecret.key}`;
}

/** Why a reference cannot be resolved, or its value (`fromSecret`: what loadKubernetes read). */
function read(
  ref: SecretRef,
  options: ResolveSecretsOptions,
  planDir: string,
  kube: ReadonlyMap<string, KubeRead>,
  key: string,
): { value: string } | { problem: string } {
  if ('fromEnv' in ref) {
    const value = options.env[ref.fromEnv];
    if (value === undefined) return { problem: `environment variable ${ref.fromEnv} is not set` };
    if (value === '') return { problem: `environment variable ${ref.fromEnv} is empty` };
    return { value };
  }
  if ('fromFile' in ref) {
    const file = path.resolve(planDir, ref.fromFile);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return { problem: `file ${ref.fromFile} does not exist (looked for ${file}, relative to the plan's directory)` };
    }
    if (!stat.isFile()) return { problem: `${ref.fromFile} is not a regular file` };
    if (stat.size > MAX_SECRET_FILE_BYTES) {
      return {
        problem: `file ${ref.fromFile} is ${stat.size} bytes; secret files are limited to ${MAX_SECRET_FILE_BYTES}`,
      };
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      return { problem: `file ${ref.fromFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    const value = text.replace(/\r?\n$/, '');
    if (value === '') return { problem: `file ${ref.fromFile} is empty` };
    return { value };
  }
  const loaded = kube.get(key);
  if (loaded === undefined) {
    throw new InternalError(
      `${key}: the ${describeRef(ref)} was used before the plan's Kubernetes Secrets were read (loadKubernetes)`,
    );
  }
  return loaded;
}

function isDatabaseUrlPath(
  at: ReadonlyArray<string | number>,
): at is ['spec', 'source' | 'target', 'databases', string, 'url'] {
  return at.length === 5 && at[0] === 'spec' && at[2] === 'databases' && at[4] === 'url';
}

/**
 * Resolves every `fromEnv` and `fromFile` reference of the plan now (so a missing variable is found
 * before anything starts) and registers the values with the redactor. `fromSecret` references are
 * resolved when asked for. Throws SecretUnresolvedError listing every problem.
 */
export function resolveSecrets(loaded: LoadedPlan, options: ResolveSecretsOptions): PlanSecrets {
  const planDir = path.dirname(path.resolve(options.cwd, loaded.file));
  const values = new Map<string, string>();
  const kube = new Map<string, KubeRead>();
  const issues: PlanIssue[] = [];
  const register = (value: string): void => {
    options.redactor.add(value);
    for (const line of value.split(/\r?\n/)) options.redactor.add(line.trim());
  };
  const problem = (at: Array<string | number> | string, message: string): PlanIssue =>
    typeof at === 'string'
      ? { file: loaded.file, line: 1, column: 1, path: at, message }
      : { ...loaded.locate(at), path: formatPath(at), message };

  /** `at` is the path in the plan, or a caller's description when the reference is not in it. */
  const resolveAt = (at: Array<string | number> | string, ref: SecretRef): string => {
    const key = typeof at === 'string' ? at : formatPath(at);
    const known = values.get(key);
    if (known !== undefined) return known;
    const result = read(ref, options, planDir, kube, key);
    if ('problem' in result) {
      const reason = kube.get(key);
      throw new SecretUnresolvedError([problem(at, result.problem)], {
        details: {
          path: key,
          reference: describeRef(ref),
          ...(reason && 'reason' in reason ? { reason: reason.reason } : {}),
        },
      });
    }
    register(result.value);
    if (typeof at !== 'string' && isDatabaseUrlPath(at)) {
      try {
        parseDatabaseUrl(result.value, 'url', options.redactor);
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        const reason = error.message.replace(/^url: /, '');
        throw new SecretUnresolvedError(
          [problem(at, `${describeRef(ref)} does not hold a PostgreSQL URL: ${reason}`)],
          {
            details: { path: key, reference: describeRef(ref), reason: 'not-a-url' },
          },
        );
      }
    }
    values.set(key, result.value);
    return result.value;
  };

  for (const { path: at, ref } of findSecretRefs(loaded.plan)) {
    if ('fromSecret' in ref) continue;
    try {
      resolveAt(at, ref);
    } catch (error) {
      if (error instanceof SecretUnresolvedError) issues.push(...error.issues);
      else throw error;
    }
  }
  if (issues.length > 0) throw new SecretUnresolvedError(issues);

  // A literal URL holds no password (the rules refuse one), but register one if it ever does.
  for (const site of ['source', 'target'] as const) {
    for (const database of Object.values(loaded.plan.spec[site].databases)) {
      if (typeof database.url !== 'string') continue;
      try {
        parseDatabaseUrl(database.url, 'url', options.redactor);
      } catch (error) {
        if (!(error instanceof HandoffError)) throw error;
      }
    }
  }

  const kubernetesRefs = findSecretRefs(loaded.plan).filter(({ ref }) => isKubernetesRef(ref));
  const reads = new Map<string, Promise<KubeRead>>();

  return {
    kubernetesRefs: kubernetesRefs.length,
    async loadKubernetes(reader, signal) {
      await Promise.all(
        kubernetesRefs.map(async ({ path: at, ref }) => {
          const key = formatPath(at);
          const known = kube.get(key);
          if (known !== undefined && 'value' in known) return;
          if (!isKubernetesRef(ref)) return;
          const location = locateKubernetesRef(loaded.plan, at, ref);
          if ('problem' in location) {
            kube.set(key, { problem: location.problem, reason: 'plan' });
            return;
          }
          // Each Secret key is read once, even when several references name it.
          const id = JSON.stringify(location);
          let pending = reads.get(id);
          if (pending === undefined) {
            pending = reader.read(location, signal).then((result): KubeRead => {
              if ('value' in result) return result;
              return {
                problem: `${describeLocation(location)} cannot be read: ${result.message}`,
                reason: result.reason,
              };
            });
            reads.set(id, pending);
            // A failed read is tried again by the next call.
            void pending.then((result) => {
              if ('problem' in result) reads.delete(id);
            });
          }
          const result = await pending;
          if ('value' in result) register(result.value);
          kube.set(key, result);
          // Resolve now so a database URL's decoded password is registered before any use too.
          try {
            resolveAt(at, ref);
          } catch (error) {
            if (!(error instanceof SecretUnresolvedError)) throw error;
          }
        }),
      );
    },
    databaseUrl(site, database) {
      const entry = loaded.plan.spec[site].databases[database];
      if (entry === undefined) {
        const names = Object.keys(loaded.plan.spec[site].databases);
        throw new InputError(
          `the ${site} site has no database "${database}" (spec.${site}.databases has: ${names.join(', ') || 'none'})`,
        );
      }
      if (typeof entry.url === 'string') return entry.url;
      return resolveAt(['spec', site, 'databases', database, 'url'], entry.url);
    },
    resolve(ref, where) {
      const found = findSecretRefs(loaded.plan).find((item) => formatPath(item.path) === where);
      return resolveAt(found?.path ?? where, ref);
    },
  };
}
