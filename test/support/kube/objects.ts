/**
 * The object operations of the Kubernetes API test server (create, replace, patch, apply, delete),
 * independent of HTTP: resourceVersion checks, defaults, validation, field managers, generation,
 * finalizers, garbage collection of dependents, namespaces and CustomResourceDefinitions.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyJsonPatch, type JsonPatchOperation } from '../../../src/platforms/kubernetes/json-patch.js';
import { groupVersionOf, type Catalog, type ResourceType } from './catalog.js';
import { applyDefaults, validate } from './defaults.js';
import { recordUpdate, serverSideApply } from './managed-fields.js';
import { mergePatch, strategicMergePatch } from './patch.js';
import { KubeStatusError, statusErrors } from './status.js';
import type { KubeObject, Store } from './store.js';

type Obj = Record<string, unknown>;

export interface WriteOptions {
  fieldManager: string;
  dryRun: boolean;
  force?: boolean;
}

export interface ObjectApi {
  create(type: ResourceType, namespace: string | undefined, body: unknown, options: WriteOptions): KubeObject;
  replace(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions,
    subresource?: string,
  ): KubeObject;
  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    raw: string,
    options: WriteOptions,
    subresource?: string,
  ): { object: KubeObject; created: boolean };
  remove(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { dryRun: boolean; propagationPolicy?: string },
  ): KubeObject;
  /** Removes a terminating namespace's content, then the namespace (for the controller). */
  finalizeNamespace(name: string): void;
  /** Writes status (for the controller): no checks, no managers. */
  writeStatus(type: ResourceType, object: KubeObject): KubeObject;
  isCustom(type: ResourceType): boolean;
}

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function asObject(type: ResourceType, body: unknown): KubeObject {
  if (!isObject(body)) throw statusErrors.badRequest('the request body must be a JSON object');
  if (!isObject(body.metadata)) body.metadata = {};
  const metadata = body.metadata as Obj;
  if (body.kind !== undefined && body.kind !== type.kind) {
    throw statusErrors.badRequest(
      `the kind "${String(body.kind)}" of the object does not match the request (${type.kind})`,
    );
  }
  if (body.apiVersion !== undefined && body.apiVersion !== groupVersionOf(type)) {
    throw statusErrors.badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${groupVersionOf(type)})`,
    );
  }
  if (metadata.name !== undefined && typeof metadata.name !== 'string')
    throw statusErrors.badRequest('metadata.name must be a string');
  return body as KubeObject;
}

const serverMetadata = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'generation',
  'managedFields',
  'deletionTimestamp',
];

/** The object without what a no-op write may touch (resourceVersion, managedFields times). */
function normalized(object: KubeObject): string {
  const copy = structuredClone(object);
  delete copy.metadata.resourceVersion;
  const fields = copy.metadata.managedFields;
  if (Array.isArray(fields)) for (const entry of fields) if (isObject(entry)) delete entry.time;
  return JSON.stringify(copy);
}

function specOf(object: Obj): string {
  const { metadata: _m, status: _s, ...rest } = object;
  return JSON.stringify(rest);
}

export function createObjectApi(store: Store, catalog: Catalog): ObjectApi {
  const customTypes = new Set<string>();
  const keyOfType = (type: ResourceType): string => `${type.group}/${type.plural}`;
  const isCustom = (type: ResourceType): boolean => customTypes.has(keyOfType(type));

  const checkNamespace = (type: ResourceType, namespace: string | undefined, name: string): void => {
    if (!type.namespaced || namespace === undefined) return;
    const nsType = catalog.find('', 'v1', 'namespaces');
    if (!nsType) return;
    const ns = store.get(nsType, undefined, namespace);
    if (!ns) throw statusErrors.namespaceNotFound(namespace);
    if (ns.metadata.deletionTimestamp) throw statusErrors.terminating(namespace, type, name);
  };

  const syncCrd = (crd: KubeObject, removed: boolean): void => {
    const spec = isObject(crd.spec) ? crd.spec : {};
    const names = isObject(spec.names) ? spec.names : {};
    const group = String(spec.group ?? '');
    const plural = String(names.plural ?? '');
    if (removed) {
      for (const type of catalog.all().filter((t) => t.group === group && t.plural === plural)) {
        for (const object of store.list(type)) store.remove(type, object.metadata.namespace, object.metadata.name);
      }
      catalog.removeGroupResource(group, plural);
      return;
    }
    const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
    for (const version of versions) {
      if (version.served === false) continue;
      const type: ResourceType = {
        group,
        version: String(version.name),
        kind: String(names.kind ?? ''),
        plural,
        singular: String(names.singular ?? String(names.kind ?? '').toLowerCase()),
        namespaced: spec.scope !== 'Cluster',
        ...(Array.isArray(names.shortNames) ? { shortNames: names.shortNames.map(String) } : {}),
        ...(Array.isArray(names.categories) ? { categories: names.categories.map(String) } : {}),
        ...(isObject(version.subresources) && 'status' in version.subresources ? { status: true } : {}),
      };
      catalog.add(type);
      customTypes.add(keyOfType(type));
    }
    crd.status = {
      acceptedNames: names,
      storedVersions: versions.filter((v) => v.storage === true).map((v) => String(v.name)),
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: now(),
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: now(),
        },
      ],
    };
  };

  const isCrd = (type: ResourceType): boolean =>
    type.group === 'apiextensions.k8s.io' && type.plural === 'customresourcedefinitions';

  /** Common path for every write of an existing or new object. */
  const write = (
    type: ResourceType,
    old: KubeObject | undefined,
    next: KubeObject,
    options: WriteOptions,
    subresource: string | undefined,
  ): KubeObject => {
    if (old) {
      for (const key of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp']) {
        if (old.metadata[key] === undefined) delete next.metadata[key];
        else next.metadata[key] = old.metadata[key];
      }
      if (subresource === 'status') {
        const status = next.status;
        next = { ...structuredClone(old), status };
      } else if (type.status && !isCustom(type)) next.status = structuredClone(old.status);
      else if (type.status && isCustom(type) && old.status !== undefined) next.status = structuredClone(old.status);
      applyDefaults(type, next, isCustom(type), false);
      validate(type, next, old);
      if (specOf(next) !== specOf(old) && typeof old.metadata.generation === 'number') {
        next.metadata.generation = old.metadata.generation + 1;
      }
    } else {
      next.metadata.uid = randomUUID();
      next.metadata.creationTimestamp = now();
      if (type.status && !isCrd(type)) delete next.status;
      applyDefaults(type, next, isCustom(type), true);
      validate(type, next, undefined);
    }
    // Empty label and annotation maps are omitted, as Go's omitempty does on the real server.
    for (const key of ['labels', 'annotations']) {
      const map = next.metadata[key];
      if (isObject(map) && Object.keys(map).length === 0) delete next.metadata[key];
    }
    if (old && !old.metadata.deletionTimestamp && normalized(next) === normalized(old)) {
      // A write that changes nothing is a no-op: same resourceVersion, no watch event.
      return old;
    }
    if (isCrd(type) && !options.dryRun) syncCrd(next, false);
    if (options.dryRun) return { ...next, apiVersion: groupVersionOf(type), kind: type.kind };
    const finalizers = next.metadata.finalizers;
    if (old?.metadata.deletionTimestamp && (!Array.isArray(finalizers) || finalizers.length === 0)) {
      store.put(type, next);
      return removeNow(type, next, 'Background');
    }
    return store.put(type, next);
  };

  const dependentsOf = (uid: string): Array<{ type: ResourceType; object: KubeObject }> => {
    const found: Array<{ type: ResourceType; object: KubeObject }> = [];
    const seen = new Set<string>();
    for (const type of catalog.all()) {
      const key = keyOfType(type);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const object of store.list(type)) {
        const refs = object.metadata.ownerReferences;
        if (Array.isArray(refs) && refs.some((ref) => isObject(ref) && ref.uid === uid)) found.push({ type, object });
      }
    }
    return found;
  };

  const removeNow = (type: ResourceType, object: KubeObject, policy: string): KubeObject => {
    const removed = store.remove(type, object.metadata.namespace, object.metadata.name) ?? object;
    if (isCrd(type)) syncCrd(removed, true);
    const uid = String(removed.metadata.uid ?? '');
    for (const dependent of dependentsOf(uid)) {
      if (policy === 'Orphan') {
        const refs = (dependent.object.metadata.ownerReferences as unknown[]).filter(
          (ref) => !(isObject(ref) && ref.uid === uid),
        );
        dependent.object.metadata.ownerReferences = refs;
        store.put(dependent.type, dependent.object);
      } else removeNow(dependent.type, dependent.object, policy);
    }
    if (type.group === '' && type.plural === 'namespaces') {
      const seen = new Set<string>();
      for (const t of catalog.all()) {
        if (!t.namespaced || seen.has(keyOfType(t))) continue;
        seen.add(keyOfType(t));
        for (const child of store.list(t, removed.metadata.name))
          store.remove(t, child.metadata.namespace, child.metadata.name);
      }
    }
    return removed;
  };

  const mustGet = (type: ResourceType, namespace: string | undefined, name: string): KubeObject => {
    const found = store.get(type, namespace, name);
    if (!found) throw statusErrors.notFound(type, name);
    return found;
  };

  const api: ObjectApi = {
    isCustom,
    create(type, namespace, body, options) {
      const object = asObject(type, body);
      const metadata = object.metadata;
      if (!metadata.name && typeof metadata.generateName === 'string') {
        metadata.name = `${metadata.generateName}${randomUUID().slice(0, 5)}`;
      }
      if (!metadata.name)
        throw statusErrors.invalid(type, '', [
          {
            field: 'metadata.name',
            message: 'Required value: name or generateName is required',
            reason: 'FieldValueRequired',
          },
        ]);
      if (type.namespaced) {
        if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
          throw statusErrors.badRequest(
            'the namespace of the provided object does not match the namespace sent on the request',
          );
        }
        metadata.namespace = namespace;
      } else delete metadata.namespace;
      for (const key of serverMetadata) delete metadata[key];
      checkNamespace(type, namespace, metadata.name);
      if (store.get(type, namespace, metadata.name)) throw statusErrors.alreadyExists(type, metadata.name);
      recordUpdate(undefined, object, options.fieldManager, groupVersionOf(type));
      return write(type, undefined, object, options, undefined);
    },
    replace(type, namespace, name, body, options, subresource) {
      const object = asObject(type, body);
      if (object.metadata.name !== undefined && object.metadata.name !== name) {
        throw statusErrors.badRequest(
          `the name of the object (${String(object.metadata.name)}) does not match the name on the URL (${name})`,
        );
      }
      object.metadata.name = name;
      if (type.namespaced) object.metadata.namespace = namespace;
      const old = mustGet(type, namespace, name);
      const rv = object.metadata.resourceVersion;
      if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw statusErrors.conflict(type, name);
      object.metadata.managedFields = old.metadata.managedFields;
      recordUpdate(old, object, options.fieldManager, groupVersionOf(type));
      return write(type, old, object, options, subresource);
    },
    patch(type, namespace, name, contentType, raw, options, subresource) {
      const old = store.get(type, namespace, name);
      const media = contentType.split(';')[0]?.trim() ?? '';
      if (media === 'application/apply-patch+yaml' || media === 'application/apply-patch+cbor') {
        if (!options.fieldManager || options.fieldManager === 'unknown') {
          throw statusErrors.badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
        }
        let applied: unknown;
        try {
          applied = parseYaml(raw);
        } catch (error) {
          throw statusErrors.badRequest(
            `error decoding YAML: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        const object = asObject(type, applied);
        if (object.metadata.name !== undefined && object.metadata.name !== name) {
          throw statusErrors.badRequest('the name of the object does not match the name on the URL');
        }
        if (object.apiVersion === undefined || object.kind === undefined) {
          throw statusErrors.badRequest('apiVersion and kind must be set in an apply configuration');
        }
        if (object.metadata.managedFields !== undefined) {
          throw statusErrors.badRequest('metadata.managedFields must be nil');
        }
        object.metadata.name = name;
        if (type.namespaced) object.metadata.namespace = namespace;
        const rv = object.metadata.resourceVersion;
        if (old && rv !== undefined && rv !== old.metadata.resourceVersion) throw statusErrors.conflict(type, name);
        if (!old) checkNamespace(type, namespace, name);
        const merged = serverSideApply({
          existing: old,
          applied: object,
          manager: options.fieldManager,
          force: options.force === true,
          apiVersion: groupVersionOf(type),
        }) as KubeObject;
        return { object: write(type, old, merged, options, subresource), created: !old };
      }
      if (!old) throw statusErrors.notFound(type, name);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      if (body === undefined) throw statusErrors.badRequest('the request body is not valid JSON');
      let next: unknown;
      try {
        if (media === 'application/merge-patch+json') next = mergePatch(old, body);
        else if (media === 'application/strategic-merge-patch+json') {
          if (isCustom(type)) throw statusErrors.unsupportedMediaType(media);
          next = strategicMergePatch(old, body);
        } else if (media === 'application/json-patch+json') {
          if (!Array.isArray(body)) throw statusErrors.badRequest('a JSON patch must be an array of operations');
          next = applyJsonPatch(old, body as JsonPatchOperation[]);
        } else throw statusErrors.unsupportedMediaType(media);
      } catch (error) {
        if (error instanceof KubeStatusError) throw error;
        throw statusErrors.invalid(type, name, [
          { field: '', message: error instanceof Error ? error.message : String(error) },
        ]);
      }
      const object = asObject(type, next);
      object.metadata.name = name;
      const rv = object.metadata.resourceVersion;
      if (rv !== undefined && rv !== old.metadata.resourceVersion) throw statusErrors.conflict(type, name);
      object.metadata.managedFields = old.metadata.managedFields;
      recordUpdate(old, object, options.fieldManager, groupVersionOf(type));
      return { object: write(type, old, object, options, subresource), created: false };
    },
    remove(type, namespace, name, options) {
      const old = mustGet(type, namespace, name);
      if (options.dryRun) return old;
      const finalizers = old.metadata.finalizers;
      const isNamespace = type.group === '' && type.plural === 'namespaces';
      const pending = (Array.isArray(finalizers) && finalizers.length > 0) || isNamespace;
      if (pending) {
        // Namespaces terminate asynchronously: phase Terminating until the controller empties them.
        if (isNamespace) old.status = { phase: 'Terminating' };
        if (!old.metadata.deletionTimestamp) {
          old.metadata.deletionTimestamp = now();
          return store.put(type, old);
        }
        return old;
      }
      return removeNow(type, old, options.propagationPolicy ?? 'Background');
    },
    finalizeNamespace(name) {
      const nsType = catalog.find('', 'v1', 'namespaces');
      const ns = nsType ? store.get(nsType, undefined, name) : undefined;
      if (nsType && ns?.metadata.deletionTimestamp) removeNow(nsType, ns, 'Background');
    },
    writeStatus(type, object) {
      return store.put(type, object);
    },
  };
  return api;
}
