import { describe, expect, it } from 'vitest';
import { encodingsOf, findLeaks, leakForms, MIN_LEAK_LENGTH } from './leak-forms.js';

const SECRET = 'Zq8/"x+\\é%k?=w4 T&m9!Lp';

/** Wraps a text the way a program's output would surround it. */
const around = (text: string): Buffer => Buffer.from(`{"log":"before ${text} after"}\n`);

describe('the canary search forms', () => {
  it('builds every 8-character window of the secret', () => {
    const substrings = new Set(leakForms(SECRET).map((form) => form.substring));
    const chars = [...SECRET];
    expect(substrings.size).toBe(chars.length - MIN_LEAK_LENGTH + 1);
    for (const sub of substrings) expect(SECRET.includes(sub) && [...sub].length === MIN_LEAK_LENGTH).toBe(true);
  });

  it('uses the whole secret when it is shorter than 8 characters', () => {
    expect(new Set(leakForms('a7"').map((form) => form.substring))).toEqual(new Set(['a7"']));
  });

  it('has raw, base64 at 3 alignments (both alphabets), hex in both cases, percent-encoding in both cases and JSON-escaped', () => {
    // '?>' encodes to base64 with '/' and '+' at every alignment, so the URL-safe forms differ.
    const names = encodingsOf('?>?>"\\é?>?>').map((form) => form.encoding);
    for (const name of [
      'raw',
      'hex',
      'HEX',
      'percent-encoded (upper case)',
      'percent-encoded (lower case)',
      'JSON-escaped',
    ]) {
      expect(names).toContain(name);
    }
    for (const offset of [0, 1, 2]) {
      expect(names).toContain(`base64 (alignment ${offset})`);
      expect(names).toContain(`base64url (alignment ${offset})`);
    }
  });

  it.each([
    ['raw', (s: string) => s],
    ['base64 inside a longer text at offset 0', (s: string) => Buffer.from(`user:${s}`).toString('base64')],
    ['base64 at offset 1', (s: string) => Buffer.from(`x${s}`).toString('base64')],
    ['base64 at offset 2', (s: string) => Buffer.from(`xy${s}`).toString('base64')],
    ['base64url', (s: string) => Buffer.from(`xy${s}`).toString('base64url')],
    ['hex', (s: string) => Buffer.from(s).toString('hex')],
    ['HEX', (s: string) => Buffer.from(s).toString('hex').toUpperCase()],
    ['percent-encoding', (s: string) => encodeURIComponent(s)],
    [
      'percent-encoding, lower-case digits',
      (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    ],
    ['form encoding', (s: string) => new URLSearchParams({ p: s }).toString()],
    ['JSON-escaped', (s: string) => JSON.stringify(s).slice(1, -1)],
    ['JSON-escaped, a 9-character middle part only', (s: string) => JSON.stringify(s.slice(5, 14)).slice(1, -1)],
    ['hex of a 10-character tail only', (s: string) => Buffer.from(s.slice(-10)).toString('hex')],
    [
      'base64 of an 8-character middle part, at offset 1',
      (s: string) => Buffer.from(`_${s.slice(3, 11)}_`).toString('base64'),
    ],
  ])('finds the secret written as %s', (_name, encode) => {
    const leaks = findLeaks({ canary: SECRET }, [['out', around(encode(SECRET))]]);
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatchObject({ secret: 'canary', where: 'out' });
  });

  it('does not find a secret that is not there, nor 7-character pieces of it', () => {
    const pieces = [SECRET.slice(0, 7), SECRET.slice(8, 15), SECRET.slice(16, 23)].join('|');
    const places: Array<[string, Buffer]> = [
      ['unrelated', around('nothing to see [REDACTED] here')],
      ['pieces', around(pieces)],
      ['hex pieces', around(Buffer.from(SECRET.slice(0, 7)).toString('hex'))],
    ];
    expect(findLeaks({ canary: SECRET }, places)).toEqual([]);
  });

  it('names the secret by its label and never by its value', () => {
    const leaks = findLeaks({ 'router token': SECRET }, [['stdout', around(SECRET)]]);
    expect(JSON.stringify(leaks)).not.toContain(SECRET.slice(0, 8));
    expect(leaks[0]?.secret).toBe('router token');
  });
});
