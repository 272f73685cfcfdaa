import { describe, expect, it } from 'vitest';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' } }, spec: { list: [1, 2, 3] } };

  it('adds, replaces, removes, moves, copies and tests, without changing the input', () => {
    const result = applyJsonPatch(doc, [
      { op: 'add', path: '/spec/list/1', value: 9 },
      { op: 'add', path: '/spec/list/-', value: 4 },
      { op: 'replace', path: '/metadata/name', value: 'api' },
      { op: 'remove', path: '/metadata/labels/app.kubernetes.io~1name' },
      { op: 'copy', from: '/metadata/name', path: '/metadata/alias' },
      { op: 'move', from: '/metadata/alias', path: '/spec/alias' },
      { op: 'test', path: '/spec/alias', value: 'api' },
    ]);
    expect(result).toEqual({ metadata: { name: 'api', labels: {} }, spec: { list: [1, 9, 2, 3, 4], alias: 'api' } });
    expect(doc.metadata.name).toBe('web');
    expect(doc.spec.list).toEqual([1, 2, 3]);
  });

  it('fails the whole patch on a failed test, naming the operation and path', () => {
    expect(() =>
      applyJsonPatch(doc, [
        { op: 'replace', path: '/metadata/name', value: 'x' },
        { op: 'test', path: '/metadata/name', value: 'web' },
      ]),
    ).toThrow(new JsonPatchError(1, '/metadata/name', 'test failed: the value differs'));
    expect(doc.metadata.name).toBe('web');
  });

  it('refuses paths that do not exist, bad indexes and pointers without a slash', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/missing' }])).toThrow(
      'patch operation 0 (/spec/missing)',
    );
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/list/7', value: 1 }])).toThrow('out of range');
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/spec/list/01', value: 1 }])).toThrow(
      'not an array index',
    );
    expect(() => applyJsonPatch(doc, [{ op: 'add', path: 'spec', value: 1 }])).toThrow('not a JSON pointer');
    expect(() => applyJsonPatch(doc, [{ op: 'move', from: '/spec', path: '/spec/inner' }])).toThrow('into itself');
  });
});
