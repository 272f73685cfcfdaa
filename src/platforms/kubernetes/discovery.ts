/**
 * What a cluster serves: group versions, resources (plural, namespaced), and which version of a
 * kind it prefers. Read once per cluster from /api, /apis and each group version; used to build
 * request paths and by parity ("the target does not serve this API").
 */
import { z } from 'zod';
import type { KubeClient } from './client.js';
import { groupOf, type KubeObject } from './objects.js';

export interface ServedResource {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

export interface Discovery {
  resources: ServedResource[];
  /** The resource for apiVersion + kind, if served. */
  find(apiVersion: string, kind: string): ServedResource | undefined;
  /** Every served version of a kind in a group, preferred first. */
  versionsOf(group: string, kind: string): ServedResource[];
  /** The request path of an object (or of its collection when `name` is omitted). */
  path(resource: ServedResource, namespace: string | undefined, name?: string): string;
  /** Server version `major.minor`, e.g. `1.31`. */
  version: { major: number; minor: number; gitVersion: string };
}

const versionSchema = z.looseObject({ major: z.string(), minor: z.string(), gitVersion: z.string().optional() });
const apiVersionsSchema = z.looseObject({ versions: z.array(z.string()) });
const groupListSchema = z.looseObject({
  groups: z.array(
    z.looseObject({
      name: z.string(),
      versions: z.array(z.looseObject({ groupVersion: z.string(), version: z.string() })),
      preferredVersion: z.looseObject({ version: z.string() }).optional(),
    }),
  ),
});
const resourceListSchema = z.looseObject({
  resources: z.array(
    z.looseObject({
      name: z.string(),
      kind: z.string(),
      namespaced: z.boolean(),
      verbs: z.array(z.string()).default([]),
    }),
  ),
});

export async function discover(client: KubeClient, signal?: AbortSignal): Promise<Discovery> {
  const options = signal ? { signal } : {};
  const versionBody = versionSchema.parse(await client.request({ method: 'GET', path: '/version', ...options }));
  const core = apiVersionsSchema.parse(await client.request({ method: 'GET', path: '/api', ...options }));
  const groups = groupListSchema.parse(await client.request({ method: 'GET', path: '/apis', ...options }));
  const targets: Array<{ group: string; version: string; preferred: boolean; path: string }> = [
    ...core.versions.map((version) => ({ group: '', version, preferred: true, path: `/api/${version}` })),
    ...groups.groups.flatMap((g) =>
      g.versions.map((v) => ({
        group: g.name,
        version: v.version,
        preferred: g.preferredVersion?.version === v.version,
        path: `/apis/${g.name}/${v.version}`,
      })),
    ),
  ];
  const lists = await Promise.all(
    targets.map(async (target) => ({
      target,
      list: resourceListSchema.parse(await client.request({ method: 'GET', path: target.path, ...options })),
    })),
  );
  const resources: ServedResource[] = [];
  // Preferred versions first, so lookups by kind find them first.
  for (const { target, list } of [...lists].sort((a, b) => Number(b.target.preferred) - Number(a.target.preferred))) {
    for (const resource of list.resources) {
      if (resource.name.includes('/')) continue;
      resources.push({
        group: target.group,
        version: target.version,
        apiVersion: target.group ? `${target.group}/${target.version}` : target.version,
        kind: resource.kind,
        plural: resource.name,
        namespaced: resource.namespaced,
        verbs: resource.verbs,
      });
    }
  }
  const minor = Number.parseInt(versionBody.minor, 10);
  return {
    resources,
    version: {
      major: Number.parseInt(versionBody.major, 10),
      minor,
      gitVersion: versionBody.gitVersion ?? `v${versionBody.major}.${versionBody.minor}`,
    },
    find: (apiVersion, kind) => resources.find((r) => r.apiVersion === apiVersion && r.kind === kind),
    versionsOf: (group, kind) => resources.filter((r) => r.group === group && r.kind === kind),
    path: (resource, namespace, name) => {
      const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
      const scope = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
      return `${base}${scope}/${resource.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
    },
  };
}

/** The served resource for an object, trying its own apiVersion only. */
export function resourceFor(
  discovery: Discovery,
  object: Pick<KubeObject, 'apiVersion' | 'kind'>,
): ServedResource | undefined {
  return discovery.find(object.apiVersion, object.kind);
}

export function otherVersions(discovery: Discovery, object: Pick<KubeObject, 'apiVersion' | 'kind'>): string[] {
  return discovery.versionsOf(groupOf(object.apiVersion), object.kind).map((r) => r.apiVersion);
}
