import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from './redact.js';

describe('redactor', () => {
  const secret = 'canary-S3cr3t/+=&?%';
  const redactor = createRedactor([secret]);

  it('removes the raw value', () => {
    expect(redactor.redact(`password=${secret} end`)).toBe(`password=${REDACTED} end`);
  });

  it('removes URL-encoded forms', () => {
    expect(redactor.redact(`postgres://u:${encodeURIComponent(secret)}@h/db`)).not.toContain(encodeURIComponent(secret));
    const form = new URLSearchParams({ p: secret }).toString();
    expect(redactor.redact(form)).toBe(`p=${REDACTED}`);
  });

  it('removes base64 at every alignment inside a longer base64 text', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:']) {
      const encoded = Buffer.from(`${prefix}${secret}trailing`).toString('base64');
      const out = redactor.redact(encoded);
      expect(out).toContain(REDACTED);
      // No 8-character window of the secret's own base64 survives.
      const own = Buffer.from(secret).toString('base64').slice(2, 10);
      expect(out.includes(own) && !encoded.includes(own)).toBe(false);
    }
  });

  it('redacts strings deep inside values, keys included', () => {
    const value = { a: [`x${secret}`], [secret]: 1, n: 3 };
    expect(JSON.stringify(redactor.redactValue(value))).not.toContain(secret);
    expect(redactor.redactValue(value).n).toBe(3);
  });

  it('ignores values too short to be secrets', () => {
    const small = createRedactor(['ab']);
    expect(small.size()).toBe(0);
    expect(small.redact('abc')).toBe('abc');
  });
});
