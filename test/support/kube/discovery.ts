/**
 * Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) in the
 * legacy (unaggregated) format. Clients that ask for aggregated discovery
 * (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) get this format with
 * `Content-Type: application/json` and fall back to it, as they do with older servers.
 */
import { createHash } from 'node:crypto';
import { groupVersionOf, verbsOf, type Catalog } from './catalog.js';

export interface ServerVersion {
  major: string;
  minor: string;
}

export function versionDocument(version: ServerVersion): Record<string, unknown> {
  return {
    major: version.major,
    minor: version.minor,
    gitVersion: `v${version.major}.${version.minor}.0`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-08-13T07:28:49Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(address: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }],
  };
}

function preferredVersion(versions: string[]): string {
  const rank = (v: string): number => {
    const match = /^v(\d+)(alpha|beta)?(\d+)?$/.exec(v);
    if (!match) return 0;
    const stability = match[2] === undefined ? 3 : match[2] === 'beta' ? 2 : 1;
    return stability * 1_000_000 + Number(match[1]) * 1000 + Number(match[3] ?? 0);
  };
  return [...versions].sort((a, b) => rank(b) - rank(a))[0] ?? 'v1';
}

export function groupList(catalog: Catalog): Record<string, unknown> {
  const groups = catalog
    .groupVersions()
    .filter((g) => g.group !== '')
    .map(({ group, versions }) => {
      const preferred = preferredVersion(versions);
      const ordered = [preferred, ...versions.filter((v) => v !== preferred)];
      return {
        name: group,
        versions: ordered.map((version) => ({ groupVersion: `${group}/${version}`, version })),
        preferredVersion: { groupVersion: `${group}/${preferred}`, version: preferred },
      };
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function groupDocument(catalog: Catalog, group: string): Record<string, unknown> | undefined {
  const found = catalog.groupVersions().find((g) => g.group === group);
  if (!found) return undefined;
  const preferred = preferredVersion(found.versions);
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: found.versions.map((version) => ({ groupVersion: `${group}/${version}`, version })),
    preferredVersion: { groupVersion: `${group}/${preferred}`, version: preferred },
  };
}

export function resourceList(catalog: Catalog, group: string, version: string): Record<string, unknown> | undefined {
  const types = catalog.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Array<Record<string, unknown>> = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: verbsOf(),
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.categories ? { categories: t.categories } : {}),
      storageVersionHash: createHash('sha256')
        .update(`${groupVersionOf(t)}/${t.kind}`)
        .digest('base64')
        .slice(0, 11),
    });
    if (t.status) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (t.scale) {
      resources.push({
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources,
  };
}
