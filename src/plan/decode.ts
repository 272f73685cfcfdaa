/**
 * Turns the bytes of a plan file into text, refusing what is not a UTF-8 text file: binary content
 * (a NUL byte), UTF-16 or UTF-32, and invalid UTF-8. Errors say where the first bad byte is.
 */
import { PlanError } from '../common/errors.js';

/** 1-based line and column (in bytes) of a byte offset. */
function bytePosition(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function fail(file: string, bytes: Uint8Array, offset: number, message: string): never {
  const { line, column } = bytePosition(bytes, offset);
  throw new PlanError([{ file, line, column, path: '', message }]);
}

/** Decodes plan bytes as UTF-8 (a UTF-8 byte order mark is dropped); throws PlanError otherwise. */
export function decodePlanBytes(bytes: Uint8Array, file: string): string {
  if (
    (bytes[0] === 0xff && bytes[1] === 0xfe) ||
    (bytes[0] === 0xfe && bytes[1] === 0xff) ||
    (bytes[0] === 0x00 && bytes[1] === 0x00 && bytes[2] === 0xfe && bytes[3] === 0xff)
  ) {
    fail(file, bytes, 0, 'the file is UTF-16 or UTF-32 encoded; save it as UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    fail(file, bytes, nul, `this is a binary file, not a YAML plan (NUL byte at byte offset ${nul})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const bad = Math.max(0, firstInvalidUtf8(bytes));
    const value = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
    return fail(
      file,
      bytes,
      bad,
      `the file is not valid UTF-8 (byte 0x${value} at byte offset ${bad}); save it as UTF-8`,
    );
  }
}
