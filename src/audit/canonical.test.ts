import { describe, expect, it } from 'vitest';
import { canonicalJson, toJsonValue } from './canonical.js';
import { encodeRecord } from './format.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: -0.5 } })).toBe(
      '{"a":{"c":-0.5,"d":[true,null,"x"]},"b":1}',
    );
  });

  it('gives the same text for the same value whatever the key order', () => {
    expect(canonicalJson({ z: 1, y: { b: 2, a: 3 } })).toBe(canonicalJson({ y: { a: 3, b: 2 }, z: 1 }));
  });

  it('sorts by UTF-16 code units and escapes strings as JSON does', () => {
    expect(canonicalJson({ é: 1, Z: 2, a: 3, '\n': 4 })).toBe('{"\\n":4,"Z":2,"a":3,"é":1}');
    expect(canonicalJson('quote " and \\ and \u0001')).toBe(JSON.stringify('quote " and \\ and \u0001'));
  });

  it('writes numbers as ECMAScript does (RFC 8785)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, 100, -0])).toBe('[1e+21,1e-7,0.1,100,0]');
  });

  it('refuses what is not plain JSON instead of guessing', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(/not a JSON number/);
    expect(() => canonicalJson(new Date())).toThrow(/plain objects/);
    expect(() => canonicalJson(1n)).toThrow(/bigint/);
  });
});

describe('toJsonValue', () => {
  it('turns details into plain JSON: undefined dropped, bigint, errors, maps and sets made explicit', () => {
    expect(
      toJsonValue({
        a: undefined,
        b: 2n,
        c: new Error('boom'),
        d: new Map([['k', 1]]),
        e: new Set([1, 2]),
        f: [undefined],
      }),
    ).toEqual({ b: '2', c: 'boom', d: { k: 1 }, e: [1, 2], f: [null] });
  });

  it('refuses a cycle', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => toJsonValue(cycle)).toThrow(/circular/i);
  });
});

describe('encodeRecord', () => {
  it('builds exactly the canonical encodings of a record with and without its hash', () => {
    const body = {
      seq: 12,
      time: '2026-01-02T03:04:05.000Z',
      runId: null,
      actor: 'alice "the owner"',
      action: 'approval-recorded',
      subject: 'cutover',
      details: { z: [1, { b: 2, a: 'é' }], a: null },
      prevHash: 'a'.repeat(64),
    };
    const record = { ...body, hash: 'b'.repeat(64) };
    expect(encodeRecord(body)).toEqual({ body: canonicalJson(body), line: canonicalJson(body) });
    expect(encodeRecord(record)).toEqual({ body: canonicalJson(body), line: canonicalJson(record) });
    expect(encodeRecord({ ...record, runId: 'run-1' }).line).toBe(canonicalJson({ ...record, runId: 'run-1' }));
  });
});
