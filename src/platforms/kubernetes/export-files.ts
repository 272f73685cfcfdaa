/**
 * Writes an export for review: one YAML file per translated object, numbered in apply order
 * (`manifests/07-deployment-shop-web.yaml`), and `summary.json` with what was exported, what was
 * left out and why, what the target must provide, and every change with the rule that made it.
 * `identity/` holds the cloud-side commands and documents the identity mappings need (for review).
 * Secret values are left out unless asked for (the files are for review; provisioning copies
 * Secrets from the source directly); they are registered with the redactor either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { UsageError } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import type { ExportResult } from './export.js';
import type { IdentityMapping } from './identity-rules.js';
import { writeIdentityReview, type IdentityReview } from './identity-review.js';
import { describeRef, isObject, refOf, type KubeObject } from './objects.js';
import type { Change } from './transform.js';

export const VALUES_OMITTED = 'handoff.dev/values-omitted';

export interface WriteExportOptions {
  dir: string;
  exported: ExportResult;
  objects: KubeObject[];
  changes: Change[];
  includeSecretValues: boolean;
  /** Replace an existing export in `dir`. */
  force: boolean;
  redactor: Redactor;
  meta: Record<string, unknown>;
  /** Identities the plan's rules map, and the target's OIDC issuer: identity/ holds their cloud-side review. */
  identity?: { mappings: IdentityMapping[]; issuer?: string | undefined };
}

export interface ExportSummary {
  migration: unknown;
  objects: Array<{ object: string; file: string }>;
  leftOut: Array<{ object: string; reason: string }>;
  requires: Array<{ kind: string; name: string; by: string[] }>;
  changes: Change[];
  secretValues: 'omitted' | 'included';
  /** The cloud-side changes the identity mappings need (written to identity/, not applied). */
  cloudIdentity: IdentityReview;
}

function fileName(index: number, object: KubeObject): string {
  const parts = [object.kind, object.metadata.namespace, object.metadata.name].filter((p): p is string => Boolean(p));
  const slug = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-');
  return `${String(index + 1).padStart(2, '0')}-${slug}.yaml`;
}

/** Registers the values of a Secret with the redactor (raw, and in every encoding it knows). */
export function secretValues(object: KubeObject, redactor: Redactor): string[] {
  if (object.kind !== 'Secret') return [];
  const values: string[] = [];
  for (const key of ['data', 'stringData']) {
    const map = object[key];
    if (!isObject(map)) continue;
    for (const value of Object.values(map)) {
      if (typeof value !== 'string' || value === '') continue;
      values.push(key === 'data' ? Buffer.from(value, 'base64').toString('utf8') : value);
    }
  }
  for (const value of values) if (value.length >= 4) redactor.add(value);
  return values;
}

function omitValues(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  for (const key of ['data', 'stringData']) {
    const map = copy[key];
    if (isObject(map)) for (const entry of Object.keys(map)) map[entry] = '';
  }
  copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [VALUES_OMITTED]: 'true' };
  return copy;
}

export function writeExport(options: WriteExportOptions): ExportSummary {
  const manifests = path.join(options.dir, 'manifests');
  if (fs.existsSync(options.dir) && !fs.statSync(options.dir).isDirectory())
    throw new UsageError(`--out ${options.dir}: is not a directory`);
  if (fs.existsSync(manifests) && fs.readdirSync(manifests).length > 0) {
    if (!options.force)
      throw new UsageError(`--out ${options.dir}: holds an earlier export; pass --force to replace it`);
    fs.rmSync(manifests, { recursive: true, force: true });
  }
  fs.mkdirSync(manifests, { recursive: true });
  const written: ExportSummary['objects'] = [];
  options.objects.forEach((object, index) => {
    secretValues(object, options.redactor);
    const content = object.kind === 'Secret' && !options.includeSecretValues ? omitValues(object) : object;
    const file = path.join('manifests', fileName(index, object));
    fs.writeFileSync(path.join(options.dir, file), stringify(content), {
      mode: object.kind === 'Secret' ? 0o600 : 0o644,
    });
    written.push({ object: describeRef(refOf(object)), file });
  });
  const summary: ExportSummary = {
    migration: options.meta,
    objects: written,
    leftOut: options.exported.leftOut.map((l) => ({ object: describeRef(l.ref), reason: l.reason })),
    requires: options.exported.requires.map((r) => ({ kind: r.kind, name: r.name, by: r.by })),
    changes: options.changes,
    secretValues: options.includeSecretValues ? 'included' : 'omitted',
    cloudIdentity: writeIdentityReview(options.dir, options.identity?.mappings ?? [], options.identity?.issuer),
  };
  fs.writeFileSync(
    path.join(options.dir, 'summary.json'),
    `${JSON.stringify(options.redactor.redactValue(summary), null, 2)}\n`,
  );
  return summary;
}
