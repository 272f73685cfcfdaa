/** The `Table` kind `kubectl get` asks for (`Accept: ...;as=Table`): Name and Age columns. */
import type { KubeObject } from './store.js';

function age(timestamp: unknown): string {
  const seconds =
    typeof timestamp === 'string' ? Math.max(0, Math.round((Date.now() - Date.parse(timestamp)) / 1000)) : 0;
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

export function table(objects: KubeObject[], includeObject: string | null, rv: string): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rv },
    columnDefinitions: [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description: 'Name must be unique within a namespace.',
        priority: 0,
      },
      {
        name: 'Age',
        type: 'string',
        format: '',
        description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
        priority: 0,
      },
    ],
    rows: objects.map((object) => ({
      cells: [object.metadata.name, age(object.metadata.creationTimestamp)],
      object:
        includeObject === 'Object'
          ? object
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
