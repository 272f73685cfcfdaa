/**
 * Unit tests of the Kubernetes API test server's semantics, independent of HTTP: selectors,
 * strategic merge patch, server-side apply ownership, no-op writes, watch history.
 */
import { describe, expect, it } from 'vitest';
import { createCatalog } from './catalog.js';
import { serverSideApply } from './managed-fields.js';
import { createObjectApi } from './objects.js';
import { strategicMergePatch } from './patch.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { KubeStatusError } from './status.js';
import { createStore } from './store.js';

const meta = (labels: Record<string, string>) => ({ metadata: { name: 'x', namespace: 'ns', labels } });

describe('selectors', () => {
  it('match labels with =, !=, in, notin, exists and !', () => {
    const object = meta({ app: 'shop', tier: 'web' });
    expect(labelMatcher('app=shop,tier in (web,db)')(object)).toBe(true);
    expect(labelMatcher('app==shop,tier!=web')(object)).toBe(false);
    expect(labelMatcher('tier notin (db), app, !missing')(object)).toBe(true);
    expect(labelMatcher('missing')(object)).toBe(false);
    expect(fieldMatcher('metadata.name=x,metadata.namespace!=other')(object)).toBe(true);
  });

  it('refuse a malformed label key with a 400 BadRequest', () => {
    expect(() => labelMatcher('bad key=1')).toThrow(KubeStatusError);
  });
});

describe('strategic merge patch (approximation)', () => {
  it('merges containers by name, honours $patch: delete and ignores $setElementOrder', () => {
    const original = {
      spec: {
        containers: [
          { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
          { name: 'b', image: 'b:1' },
        ],
      },
    };
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }],
        containers: [
          { name: 'a', env: [{ name: 'Y', value: '2' }] },
          { name: 'b', $patch: 'delete' },
        ],
      },
    };
    expect(strategicMergePatch(original, patch)).toEqual({
      spec: {
        containers: [
          {
            name: 'a',
            image: 'a:1',
            env: [
              { name: 'X', value: '1' },
              { name: 'Y', value: '2' },
            ],
          },
        ],
      },
    });
  });
});

describe('server-side apply', () => {
  const base = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } };

  it('removes fields a manager stops applying, and keeps fields others own', () => {
    const first = serverSideApply({
      existing: undefined,
      applied: { ...base, data: { a: '1', b: '2' } },
      manager: 'm1',
      force: false,
      apiVersion: 'v1',
    });
    const other = serverSideApply({
      existing: first,
      applied: { ...base, data: { c: '3' } },
      manager: 'm2',
      force: false,
      apiVersion: 'v1',
    });
    const second = serverSideApply({
      existing: other,
      applied: { ...base, data: { a: '1' } },
      manager: 'm1',
      force: false,
      apiVersion: 'v1',
    });
    expect(second.data).toEqual({ a: '1', c: '3' });
  });

  it('conflicts on a field another manager set to another value, unless forced', () => {
    const first = serverSideApply({
      existing: undefined,
      applied: { ...base, data: { a: '1' } },
      manager: 'm1',
      force: false,
      apiVersion: 'v1',
    });
    const apply = (force: boolean) =>
      serverSideApply({
        existing: first,
        applied: { ...base, data: { a: '2' } },
        manager: 'm2',
        force,
        apiVersion: 'v1',
      });
    expect(apply).toThrow('Apply failed with 1 conflict: conflict with "m1" using v1: .data.a');
    expect(apply(true).data).toEqual({ a: '2' });
    // The same value is shared ownership, not a conflict.
    expect(
      serverSideApply({
        existing: first,
        applied: { ...base, data: { a: '1' } },
        manager: 'm2',
        force: false,
        apiVersion: 'v1',
      }).data,
    ).toEqual({ a: '1' });
  });
});

describe('object store', () => {
  it('keeps the resourceVersion on a write that changes nothing, and 409s a stale update', () => {
    const catalog = createCatalog();
    const store = createStore();
    const api = createObjectApi(store, catalog);
    const options = { fieldManager: 'test', dryRun: false };
    const nsType = catalog.find('', 'v1', 'namespaces');
    const cmType = catalog.find('', 'v1', 'configmaps');
    if (!nsType || !cmType) throw new Error('catalog lacks core types');
    api.create(nsType, undefined, { metadata: { name: 'ns' } }, options);
    const created = api.create(cmType, 'ns', { metadata: { name: 'c' }, data: { a: '1' } }, options);
    const same = api.replace(cmType, 'ns', 'c', structuredClone(created), options);
    expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const changed = api.replace(cmType, 'ns', 'c', { ...structuredClone(created), data: { a: '2' } }, options);
    expect(changed.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    expect(() => api.replace(cmType, 'ns', 'c', { ...structuredClone(created), data: { a: '3' } }, options)).toThrow(
      'the object has been modified',
    );
    expect(store.eventsSince('/configmaps', Number(created.metadata.resourceVersion))?.map((e) => e.type)).toEqual([
      'MODIFIED',
    ]);
  });
});
