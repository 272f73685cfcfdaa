import { describe, expect, it } from 'vitest';
import { PlanError } from '../common/errors.js';
import { decodePlanBytes, firstInvalidUtf8 } from './decode.js';

function refusal(bytes: Uint8Array): string {
  try {
    decodePlanBytes(bytes, 'f.yaml');
  } catch (error) {
    if (error instanceof PlanError) return error.message;
    throw error;
  }
  throw new Error('accepted');
}

describe('decodePlanBytes', () => {
  it('decodes UTF-8 and drops a byte order mark', () => {
    expect(decodePlanBytes(Buffer.from('\uFEFFname: café ✓\n'), 'f.yaml')).toBe('name: café ✓\n');
  });

  it('refuses UTF-16, with a hint', () => {
    expect(refusal(Buffer.from('\uFEFFa: 1', 'utf16le'))).toBe(
      'f.yaml:1:1: the file is UTF-16 or UTF-32 encoded; save it as UTF-8',
    );
  });

  it('refuses binary content at its first NUL byte', () => {
    expect(refusal(Buffer.from('a: 1\nbc\u0000d'))).toBe(
      'f.yaml:2:3: this is a binary file, not a YAML plan (NUL byte at byte offset 7)',
    );
  });

  it('refuses invalid UTF-8 at the first bad byte', () => {
    expect(refusal(Buffer.from([0x61, 0x3a, 0x20, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]))).toBe(
      'f.yaml:2:4: the file is not valid UTF-8 (byte 0xe9 at byte offset 7); save it as UTF-8',
    );
  });

  it('finds overlong forms, surrogates and truncated sequences', () => {
    expect(firstInvalidUtf8(Buffer.from('ok ✓ é'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xc0, 0xaf]))).toBe(1); // overlong "/"
    expect(firstInvalidUtf8(Uint8Array.from([0xe0, 0x80, 0xaf]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0); // a UTF-16 surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xe2, 0x9c]))).toBe(1); // truncated at the end
    expect(firstInvalidUtf8(Uint8Array.from([0xf5, 0x80, 0x80, 0x80]))).toBe(0); // beyond U+10FFFF
  });
});
