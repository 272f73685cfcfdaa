import fs from 'node:fs';

/**
 * Reads an open file to its end, but never more than `max` bytes: a file that grows while it is
 * read (or lies in its size) cannot make us hold more. Returns null when there was more than `max`.
 * Closes the descriptor.
 */
export function readOpenFileBounded(fd: number, max: number): Buffer | null {
  try {
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > max) return null;
    }
    return buffer.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}
