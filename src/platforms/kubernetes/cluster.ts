/**
 * One cluster as handoff uses it: the client plus its discovery, with list (paginated, bounded),
 * get, server-side apply, merge patch and delete by apiVersion/kind.
 */
import { AdapterError } from '../../common/errors.js';
import { KubeApiError, type KubeClient } from './client.js';
import { discover, type Discovery, type ServedResource } from './discovery.js';
import { describeRef, parseKubeObject, parseList, refOf, type KubeObject, type ObjectRef } from './objects.js';

export const FIELD_MANAGER = 'handoff';

export interface Cluster {
  client: KubeClient;
  discovery: Discovery;
  /** Objects of a kind, optionally in one namespace and matching a label selector. */
  list(
    apiVersion: string,
    kind: string,
    options?: { namespace?: string; labelSelector?: string; signal?: AbortSignal },
  ): Promise<KubeObject[]>;
  get(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject | undefined>;
  /** Server-side apply with field manager `handoff`; `force` takes fields other managers own. */
  apply(object: KubeObject, options?: { force?: boolean; dryRun?: boolean; signal?: AbortSignal }): Promise<KubeObject>;
  mergePatch(ref: ObjectRef, patch: unknown, signal?: AbortSignal): Promise<KubeObject>;
  /** Deletes (background propagation); false when it was already gone. */
  remove(ref: ObjectRef, signal?: AbortSignal): Promise<boolean>;
}

const maxPages = 200;

export async function openCluster(client: KubeClient, signal?: AbortSignal): Promise<Cluster> {
  const discovery = await discover(client, signal);
  const resource = (ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): ServedResource => {
    const found = discovery.find(ref.apiVersion, ref.kind);
    if (!found) throw new AdapterError(`context ${client.context} does not serve ${ref.apiVersion} ${ref.kind}`);
    return found;
  };
  const sig = (signal?: AbortSignal): { signal?: AbortSignal } => (signal ? { signal } : {});
  return {
    client,
    discovery,
    list: async (apiVersion, kind, options = {}) => {
      const served = resource({ apiVersion, kind });
      const items: KubeObject[] = [];
      let token: string | undefined;
      for (let page = 0; page < maxPages; page += 1) {
        const body = await client.request({
          method: 'GET',
          path: discovery.path(served, options.namespace),
          query: { limit: '500', labelSelector: options.labelSelector, continue: token },
          ...sig(options.signal),
        });
        const parsed = parseList(body, apiVersion, kind, `list ${kind} on ${client.context}`);
        items.push(...parsed.items);
        token = parsed.continueToken;
        if (!token) return items;
      }
      throw new AdapterError(`list ${kind} on ${client.context}: more than ${maxPages} pages; narrow the selector`);
    },
    get: async (ref, signal) => {
      const served = discovery.find(ref.apiVersion, ref.kind);
      if (!served) return undefined;
      const body = await client.getOrUndefined(discovery.path(served, ref.namespace, ref.name), signal);
      return body ? parseKubeObject(body, describeRef(ref)) : undefined;
    },
    apply: async (object, options = {}) => {
      const ref = refOf(object);
      const body = await client.request({
        method: 'PATCH',
        path: discovery.path(resource(ref), ref.namespace, ref.name),
        query: {
          fieldManager: FIELD_MANAGER,
          force: options.force ? 'true' : undefined,
          fieldValidation: 'Strict',
          dryRun: options.dryRun ? 'All' : undefined,
        },
        body: object,
        contentType: 'application/apply-patch+yaml',
        ...sig(options.signal),
      });
      return parseKubeObject(body, describeRef(ref));
    },
    mergePatch: async (ref, patch, signal) => {
      const body = await client.request({
        method: 'PATCH',
        path: discovery.path(resource(ref), ref.namespace, ref.name),
        query: { fieldManager: FIELD_MANAGER },
        body: patch,
        contentType: 'application/merge-patch+json',
        ...sig(signal),
      });
      return parseKubeObject(body, describeRef(ref));
    },
    remove: async (ref, signal) => {
      try {
        await client.request({
          method: 'DELETE',
          path: discovery.path(resource(ref), ref.namespace, ref.name),
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
          ...sig(signal),
        });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return false;
        throw error;
      }
    },
  };
}
