/**
 * A minimal OpenAPI v3 surface: `/openapi/v3` (the index of group versions) and one document per
 * group version with a PATCH operation per kind that lists the `fieldValidation` query parameter.
 * That is what kubectl (1.27+) reads to decide that the server validates fields itself, so
 * `kubectl apply`/`create` work with validation on. The documents carry no schemas: kubectl then
 * builds client-side apply patches from its compiled-in types (strategic merge) or, for custom
 * resources, as JSON merge patches, as it does against servers without OpenAPI. `/openapi/v2`
 * answers 404. The server accepts `fieldValidation` and does not reject unknown fields.
 */
import { createHash } from 'node:crypto';
import type { Catalog } from './catalog.js';

function prefix(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export function openApiIndex(catalog: Catalog): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const { group, versions } of catalog.groupVersions()) {
    for (const version of versions) {
      const key = prefix(group, version);
      const hash = createHash('sha256')
        .update(JSON.stringify(openApiDocument(catalog, group, version)))
        .digest('hex')
        .slice(0, 32)
        .toUpperCase();
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    }
  }
  return { paths };
}

export function openApiDocument(catalog: Catalog, group: string, version: string): Record<string, unknown> | undefined {
  const types = catalog.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    const base = `/${prefix(group, version)}${type.namespaced ? '/namespaces/{namespace}' : ''}/${type.plural}/{name}`;
    const gvk = { group, version, kind: type.kind };
    paths[base] = {
      patch: {
        operationId: `patch${type.kind}`,
        parameters: [
          { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } },
        ],
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: group === '' ? version : `${group}/${version}` },
    paths,
    components: { schemas: {} },
  };
}
