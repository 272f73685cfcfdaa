/**
 * The in-memory object store of the Kubernetes API test server: objects by type, namespace and
 * name; one global, increasing resourceVersion; a bounded history of watch events so a watch can
 * start from a recent resourceVersion (older ones get 410 Expired, as from the real server).
 */
import { groupVersionOf, type ResourceType } from './catalog.js';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  rv: number;
  typeKey: string;
  object: KubeObject;
}

export interface Store {
  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  list(type: ResourceType, namespace?: string): KubeObject[];
  /** Stores (creating or replacing) and returns the stored copy with a new resourceVersion. */
  put(type: ResourceType, object: KubeObject): KubeObject;
  remove(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined;
  resourceVersion(): number;
  /** Events after `rv` for a type; undefined when `rv` is older than the history kept. */
  eventsSince(typeKey: string, rv: number): StoreEvent[] | undefined;
  subscribe(listener: (event: StoreEvent) => void): () => void;
}

/** Objects are kept per group and plural, so every served version of a type sees the same objects. */
export function typeKey(type: ResourceType): string {
  return `${type.group}/${type.plural}`;
}

const historyLimit = 5000;

export function createStore(): Store {
  const objects = new Map<string, Map<string, KubeObject>>();
  const history: StoreEvent[] = [];
  const listeners = new Set<(event: StoreEvent) => void>();
  let rv = 100;

  const bucket = (type: ResourceType): Map<string, KubeObject> => {
    const key = typeKey(type);
    let map = objects.get(key);
    if (!map) {
      map = new Map();
      objects.set(key, map);
    }
    return map;
  };
  const id = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

  const emit = (event: StoreEvent): void => {
    history.push(event);
    if (history.length > historyLimit) history.splice(0, history.length - historyLimit);
    for (const listener of listeners) listener(event);
  };

  return {
    get: (type, namespace, name) => {
      const found = bucket(type).get(id(type.namespaced ? namespace : undefined, name));
      return found ? structuredClone(found) : undefined;
    },
    list: (type, namespace) =>
      [...bucket(type).values()]
        .filter((object) => namespace === undefined || object.metadata.namespace === namespace)
        .sort((a, b) =>
          `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
            `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
          ),
        )
        .map((object) => structuredClone(object)),
    put: (type, object) => {
      rv += 1;
      const stored = structuredClone(object);
      stored.metadata.resourceVersion = String(rv);
      stored.apiVersion = groupVersionOf(type);
      stored.kind = type.kind;
      const key = id(type.namespaced ? stored.metadata.namespace : undefined, stored.metadata.name);
      const existed = bucket(type).has(key);
      bucket(type).set(key, stored);
      emit({ type: existed ? 'MODIFIED' : 'ADDED', rv, typeKey: typeKey(type), object: structuredClone(stored) });
      return structuredClone(stored);
    },
    remove: (type, namespace, name) => {
      const key = id(type.namespaced ? namespace : undefined, name);
      const found = bucket(type).get(key);
      if (!found) return undefined;
      bucket(type).delete(key);
      rv += 1;
      const removed = structuredClone(found);
      removed.metadata.resourceVersion = String(rv);
      emit({ type: 'DELETED', rv, typeKey: typeKey(type), object: structuredClone(removed) });
      return removed;
    },
    resourceVersion: () => rv,
    eventsSince: (key, since) => {
      const oldest = history[0]?.rv ?? rv + 1;
      if (since < oldest - 1 && history.length >= historyLimit) return undefined;
      return history.filter((event) => event.typeKey === key && event.rv > since).map((e) => structuredClone(e));
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
