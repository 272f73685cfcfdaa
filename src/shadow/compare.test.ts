import { describe, expect, it } from 'vitest';
import { compareAnswers, parentPath, requestNoise, type Answer } from './compare.js';
import { endpointOf } from './endpoint.js';
import { evidenceBody } from './evidence.js';
import { createIgnoreList, jsonDifferences, parsePathPattern } from './json-diff.js';
import { createShadowLedger } from './ledger.js';

const none = createIgnoreList([]);
const jsonAnswer = (body: string, status = 200, extra: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
  body: Buffer.from(body),
});
const options = { headers: ['content-type'], ignore: none };

describe('JSON normalisation', () => {
  it('ignores key order and number forms', () => {
    expect(
      jsonDifferences(
        JSON.parse('{"a":1.0,"b":[1e2,{"y":2,"x":1}]}'),
        JSON.parse('{"b":[100,{"x":1,"y":2.00}],"a":1}'),
        none,
      ),
    ).toEqual([]);
  });
  it('lists the paths that differ, missing keys and extra array items included', () => {
    expect(
      jsonDifferences({ a: 1, b: { c: 'x' }, d: [1, 2] }, { a: 2, b: { c: 'x', e: 1 }, d: [1, 2, 3] }, none),
    ).toEqual(['$.a', '$.b.e', '$.d[2]']);
    expect(jsonDifferences({ 'odd key': 1 }, { 'odd key': 2 }, none)).toEqual(['$["odd key"]']);
    expect(jsonDifferences({ a: 1 }, { a: '1' }, none)).toEqual(['$.a']);
  });
  it('leaves out ignored paths: exact, with wildcards, and bare field names at any depth', () => {
    const a = {
      meta: { requestId: 'r1', at: 1 },
      items: [
        { id: 1, updatedAt: 't1' },
        { id: 2, updatedAt: 't2' },
      ],
      x: 1,
    };
    const b = {
      meta: { requestId: 'r2', at: 2 },
      items: [
        { id: 1, updatedAt: 't3' },
        { id: 2, updatedAt: 't4' },
      ],
      x: 1,
    };
    expect(jsonDifferences(a, b, none)).toEqual([
      '$.items[0].updatedAt',
      '$.items[1].updatedAt',
      '$.meta.at',
      '$.meta.requestId',
    ]);
    expect(jsonDifferences(a, b, createIgnoreList(['$.meta.requestId', '$.items[*].updatedAt']))).toEqual([
      '$.meta.at',
    ]);
    expect(jsonDifferences(a, b, createIgnoreList(['updatedAt', '$.meta.*', 'requestId']))).toEqual([]);
  });
  it('parses path patterns and refuses malformed ones', () => {
    expect(parsePathPattern('$.a[*].b["c d"]')).toEqual(['a', '*', 'b', 'c d']);
    expect(parsePathPattern('$.a[')).toBeNull();
    expect(parsePathPattern('a.b')).toBeNull();
  });
});

describe('comparing answers', () => {
  it('compares status, chosen headers and the normalised JSON body', () => {
    expect(compareAnswers(jsonAnswer('{"a":1,"b":2}'), jsonAnswer('{"b":2,"a":1.0}'), options)).toEqual([]);
    expect(compareAnswers(jsonAnswer('{"a":1}'), jsonAnswer('{"a":1}', 404), options)).toEqual(['status']);
    const text: Answer = { status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('{"a":1}') };
    expect(compareAnswers(jsonAnswer('{"a":1}'), text, options)).toEqual(['header:content-type']);
    expect(compareAnswers(jsonAnswer('{"a":1}'), { ...text, body: Buffer.from('{"a":1.0}') }, options)).toEqual([
      'header:content-type',
      'body',
    ]);
  });
  it('compares other bodies byte for byte', () => {
    const html = (body: string): Answer => ({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: Buffer.from(body),
    });
    expect(compareAnswers(html('<p>1</p>'), html('<p>1</p>'), options)).toEqual([]);
    expect(compareAnswers(html('<p>1</p>'), html('<p>1</p> '), options)).toEqual(['body']);
    // JSON that does not parse is compared as bytes too.
    expect(compareAnswers(jsonAnswer('{"a":'), jsonAnswer('{"a":'), options)).toEqual([]);
  });
});

describe('shadow books', () => {
  it('counts a difference on a field seen to differ between two source answers as noise', () => {
    const ledger = createShadowLedger();
    const evidence = () => ({
      at: 't',
      method: 'GET',
      path: '/a/1',
      endpoint: 'GET /a/:id',
      sourceStatus: 200,
      targetStatus: 200,
      source: '',
      target: '',
      reread: false,
    });
    expect(ledger.record('GET /a/:id', ['$.items[0].at'], evidence)).toBe('difference');
    ledger.noiseSample('GET /a/:id', ['$.items[3].at']);
    expect(ledger.record('GET /a/:id', ['$.items[1].at'], evidence)).toBe('noise');
    expect(ledger.record('GET /a/:id', ['$.items[1].at', '$.price'], evidence)).toBe('difference');
    expect(ledger.record('GET /b', ['$.items[1].at'], evidence)).toBe('difference'); // noise is per endpoint
    expect(ledger.record('GET /a/:id', [], evidence)).toBe('same');
    const report = ledger.report(0);
    expect(report.counters).toMatchObject({ compared: 5, differences: 3, noise: 1, same: 1 });
    expect(report.diffRate).toBeCloseTo(3 / 5);
    expect(report.endpoints[0]).toMatchObject({ endpoint: 'GET /a/:id', paths: { '$.items[*].at': 1, '$.price': 1 } }); // a noisy field is not what made it differ
    expect(report.evidence.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(ledger.report(2).evidence.map((r) => r.seq)).toEqual([3]);
  });
  it('names endpoints with identifiers folded and evidence redacted and bounded', () => {
    expect(endpointOf('GET', '/orders/123/items/4f1c2b9e-1d2a-4b3c-8d9e-0a1b2c3d4e5f?x=1')).toBe(
      'GET /orders/:id/items/:id',
    );
    expect(evidenceBody(Buffer.from('{"password":"hunter2","n":1}'), true, 100)).toBe(
      '{"password":"[REDACTED]","n":1}',
    );
    expect(evidenceBody(Buffer.from('abcdef'), false, 3)).toBe('abc…[truncated 3 bytes]');
  });
});

describe('the noise of one lag-aware comparison (a second source read after the target answered)', () => {
  const j = (value: unknown): Answer => jsonAnswer(JSON.stringify(value));
  it('finds the record that holds a path', () => {
    expect(parentPath('$.balance')).toBe('$');
    expect(parentPath('$.orders[2].item')).toBe('$.orders[2]');
    expect(parentPath('$.orders[2]')).toBe('$.orders');
    expect(parentPath('$["odd key"].x')).toBe('$["odd key"]');
    expect(parentPath('$.a["b.c"]')).toBe('$.a');
    expect(parentPath('$')).toBeNull();
    expect(parentPath('status')).toBeNull();
  });
  it('a record seen in between (a balance that moved and came back) is noise as a whole', () => {
    const first = j({ id: 3, balance: '100', updated_at: 't0' });
    const target = j({ id: 3, balance: '95', updated_at: 't1' });
    const again = j({ id: 3, balance: '100', updated_at: 't2' });
    const paths = compareAnswers(first, target, options);
    expect(paths).toEqual(['$.balance', '$.updated_at']);
    expect(requestNoise(first, again, target, paths, options).sort()).toEqual(['$.balance', '$.updated_at']);
  });
  it('a target caught up with the second answer counts its other differences', () => {
    const first = j({ owner: 'ann', version: 1 });
    const target = j({ owner: 'bob', version: 2 });
    const again = j({ owner: 'ann', version: 2 });
    const paths = compareAnswers(first, target, options);
    expect(requestNoise(first, again, target, paths, options)).toEqual(['$.version']);
  });
  it('keeps a record in motion to itself: another item of a list still counts', () => {
    const first = j({
      orders: [
        { id: 9, item: 'a', at: 't0' },
        { id: 8, item: 'b' },
      ],
    });
    const target = j({
      orders: [
        { id: 9, item: 'x', at: 't1' },
        { id: 8, item: 'c' },
      ],
    });
    const again = j({
      orders: [
        { id: 9, item: 'a', at: 't2' },
        { id: 8, item: 'b' },
      ],
    });
    const paths = compareAnswers(first, target, options);
    expect(paths).toEqual(['$.orders[0].at', '$.orders[0].item', '$.orders[1].item']);
    expect(requestNoise(first, again, target, paths, options).sort()).toEqual(['$.orders[0].at', '$.orders[0].item']);
  });
  it('nothing changed on the source: no noise', () => {
    const first = j({ owner: 'ann' });
    expect(requestNoise(first, first, j({ owner: 'bob' }), ['$.owner'], options)).toEqual([]);
  });
});
