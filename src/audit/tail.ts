/**
 * Reading the end of an append-only JSON-lines file without reading all of it, and repairing the
 * one thing a crash can leave there: a partial last line.
 */
import fs from 'node:fs';

export interface FileTail {
  /** The last newline-terminated line (without the newline), or null when there is none. */
  lastLine: string | null;
  /** Byte offset where `lastLine` starts. */
  lastLineOffset: number;
  /** Bytes after the last newline: a write interrupted by a crash. Empty when the file ends cleanly. */
  partial: Buffer;
  /** Byte length of the file. */
  size: number;
}

/** The first read from the end; most last lines fit, so most tails cost one small read. */
const FIRST_CHUNK = 4 * 1024;
const MAX_CHUNK = 64 * 1024;

export function readTail(file: string): FileTail {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    // Read backwards until we have seen two newlines (the end of the previous line) or the start,
    // each read twice the last (a long record costs a few reads, a short one a single 4 KiB read).
    let buffer = Buffer.alloc(0);
    let position = size;
    let chunk = FIRST_CHUNK;
    for (;;) {
      if (position === 0 || countNewlines(buffer) >= 2) break;
      const length = Math.min(chunk, position);
      position -= length;
      const read = Buffer.allocUnsafe(length);
      fs.readSync(fd, read, 0, length, position);
      buffer = buffer.length === 0 ? read : Buffer.concat([read, buffer]);
      chunk = Math.min(chunk * 2, MAX_CHUNK);
    }
    const lastNewline = buffer.lastIndexOf(0x0a);
    if (lastNewline === -1) {
      return { lastLine: null, lastLineOffset: 0, partial: Buffer.from(buffer), size };
    }
    const partial = buffer.subarray(lastNewline + 1);
    const previousNewline = buffer.lastIndexOf(0x0a, lastNewline - 1);
    const start = previousNewline + 1;
    return {
      lastLine: buffer.subarray(start, lastNewline).toString('utf8'),
      lastLineOffset: position + start,
      partial: Buffer.from(partial),
      size,
    };
  } finally {
    fs.closeSync(fd);
  }
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  for (let index = buffer.indexOf(0x0a); index !== -1; index = buffer.indexOf(0x0a, index + 1)) {
    count++;
    if (count >= 2) return count;
  }
  return count;
}

/** Cuts the file back to its last complete line and fsyncs it. */
export function truncateTo(file: string, size: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends text and fsyncs before returning: when this returns, the line is on disk. */
export function appendDurably(file: string, text: string): void {
  const fd = fs.openSync(file, 'a');
  try {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
