import { describe, expect, it } from 'vitest';
import { findLeaks } from '../../test/support/leak-forms.js';
import { createRedactor, REDACTED } from './redact.js';

describe('redactor', () => {
  const secret = 'canary-S3cr3t/+=&?%';
  const redactor = createRedactor([secret]);

  it('removes the raw value', () => {
    expect(redactor.redact(`password=${secret} end`)).toBe(`password=${REDACTED} end`);
  });

  it('removes URL-encoded forms, with upper- and lower-case hex digits', () => {
    expect(redactor.redact(`postgres://u:${encodeURIComponent(secret)}@h/db`)).toBe(`postgres://u:${REDACTED}@h/db`);
    const lower = encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    expect(lower).not.toBe(encodeURIComponent(secret));
    expect(redactor.redact(`postgres://u:${lower}@h/db`)).toBe(`postgres://u:${REDACTED}@h/db`);
    const form = new URLSearchParams({ p: secret }).toString();
    expect(redactor.redact(form)).toBe(`p=${REDACTED}`);
  });

  it('removes hex in lower and upper case', () => {
    const hex = Buffer.from(secret).toString('hex');
    expect(redactor.redact(`x${hex}y`)).toBe(`x${REDACTED}y`);
    expect(redactor.redact(`x${hex.toUpperCase()}y`)).toBe(`x${REDACTED}y`);
  });

  it('removes base64 at every alignment inside a longer base64 text: no 8-character piece of the secret is left', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:']) {
      for (const encoding of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${prefix}${secret}trailing`).toString(encoding);
        const out = redactor.redact(encoded);
        expect(out).toContain(REDACTED);
        expect(findLeaks({ secret }, [['out', Buffer.from(out)]]), `${encoding} after "${prefix}"`).toEqual([]);
        // The canary finds it in the text before redaction: the assertion above can fail.
        expect(findLeaks({ secret }, [['in', Buffer.from(encoded)]])).toHaveLength(1);
      }
    }
  });

  it('leaves no form the canary knows of in any output', () => {
    const leaky = `{"log":"${JSON.stringify(secret).slice(1, -1)}"} ${Buffer.from(secret).toString('hex').toUpperCase()} ${encodeURI(secret)}`;
    expect(findLeaks({ secret }, [['before', Buffer.from(leaky)]])).toHaveLength(1);
    expect(findLeaks({ secret }, [['after', Buffer.from(redactor.redact(leaky))]])).toEqual([]);
  });

  it('removes JSON-escaped forms, also JSON inside a JSON string inside a JSON line', () => {
    const quoted = 'p"w\\d/Quote-And-Backslash';
    const own = createRedactor([quoted]);
    const once = JSON.stringify({ password: quoted });
    const twice = JSON.stringify({ body: once });
    const thrice = JSON.stringify({ line: twice });
    for (const text of [once, twice, thrice]) {
      expect(findLeaks({ quoted }, [['before', Buffer.from(text)]])).toHaveLength(1);
      expect(findLeaks({ quoted }, [['after', Buffer.from(own.redact(text))]]), text).toEqual([]);
    }
  });

  it('redacts strings deep inside values, keys included', () => {
    const value = { a: [`x${secret}`], [secret]: 1, n: 3 };
    expect(JSON.stringify(redactor.redactValue(value))).not.toContain(secret);
    expect(redactor.redactValue(value).n).toBe(3);
  });

  it('also redacts the password of a URL secret on its own, decoded and as written', () => {
    const password = 'pw/with:odd@chars';
    const url = `postgresql://app:${encodeURIComponent(password)}@127.0.0.1:5432/app`;
    const own = createRedactor([url]);
    expect(own.redact(`the password is ${password}.`)).toBe(`the password is ${REDACTED}.`);
    expect(own.redact(`auth=${encodeURIComponent(password)};`)).toBe(`auth=${REDACTED};`);
    expect(own.redact(url)).toBe(REDACTED);
    expect(own.redact('postgresql://app@127.0.0.1:5432/app')).toBe('postgresql://app@127.0.0.1:5432/app');
  });

  it('redacts secrets of any length; one under 4 characters only where it stands alone', () => {
    const short = createRedactor(['ab', 'x!']);
    expect(short.size()).toBe(2);
    expect(short.redact('password=ab;')).toBe(`password=${REDACTED};`);
    expect(short.redact('{"password":"ab"}')).toBe(`{"password":"${REDACTED}"}`);
    expect(short.redact('postgresql://u:ab@h/db')).toBe(`postgresql://u:${REDACTED}@h/db`);
    expect(short.redact('token x!')).toBe(`token ${REDACTED}`);
    expect(short.redact('token x%21 or x%21')).toBe(`token ${REDACTED} or ${REDACTED}`);
    // Inside words it stays: a short secret would otherwise garble every message.
    expect(short.redact('about labs abc')).toBe('about labs abc');
    // Its hex and base64 (4 characters or more) go wherever they are.
    expect(short.redact(`x${Buffer.from('ab').toString('hex')}y ${Buffer.from('ab').toString('base64')}`)).toBe(
      `x${REDACTED}y ${REDACTED}`,
    );
  });

  it('redacts a one-character secret where it stands alone', () => {
    const one = createRedactor(['7']);
    expect(one.redact('pin=7, room 17, 7')).toBe(`pin=${REDACTED}, room 17, ${REDACTED}`);
  });

  it('does not register 1- to 3-character values of punctuation alone (the brace lines of a JSON secret)', () => {
    const lines = createRedactor(['{', '}', '],', 'key-Zq81-private']);
    expect(lines.size()).toBe(1);
    expect(lines.redact('{"a": [1], "b": "key-Zq81-private"}')).toBe(`{"a": [1], "b": "${REDACTED}"}`);
  });

  it('ignores the empty string', () => {
    const none = createRedactor(['']);
    expect(none.size()).toBe(0);
    expect(none.redact('anything')).toBe('anything');
  });
});
