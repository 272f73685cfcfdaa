/**
 * Kubernetes objects as plain JSON, validated at the boundary (zod, unknown fields kept), and
 * small helpers to name and address them.
 */
import { z } from 'zod';
import { AdapterError } from '../../common/errors.js';

export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

export type KubeObject = z.infer<typeof kubeObjectSchema>;

const listSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.looseObject({ resourceVersion: z.string().optional(), continue: z.string().optional() }).optional(),
  items: z.array(z.looseObject({ metadata: z.looseObject({ name: z.string() }) })).nullable(),
});

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseKubeObject(value: unknown, what: string): KubeObject {
  const parsed = kubeObjectSchema.safeParse(value);
  if (!parsed.success)
    throw new AdapterError(
      `${what}: the API server sent something that is not an object (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    );
  return parsed.data;
}

/** Items of a list response; the server leaves kind and apiVersion out of built-in items, so they are filled in. */
export function parseList(
  value: unknown,
  apiVersion: string,
  kind: string,
  what: string,
): { items: KubeObject[]; continueToken?: string } {
  const parsed = listSchema.safeParse(value);
  if (!parsed.success) throw new AdapterError(`${what}: the API server sent something that is not a list`);
  const items = (parsed.data.items ?? []).map((item) => parseKubeObject({ apiVersion, kind, ...item }, what));
  const token = parsed.data.metadata?.continue;
  return token ? { items, continueToken: token } : { items };
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(object: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

/** `apps/v1 Deployment shop/web`. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.apiVersion} ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** `Deployment shop/web` (version-free), the identity used across clusters. */
export function keyOf(ref: { apiVersion: string; kind: string; name: string; namespace?: string | undefined }): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return `${ref.kind}${group ? `.${group}` : ''} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
}

/** Reads a nested value: `dig(o, 'spec', 'template', 'spec')`. */
export function dig(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isObject(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}

export function asRecord(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
