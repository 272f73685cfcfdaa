import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { readTail } from './tail.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function fileWith(text: string): string {
  const temp = makeTempDir('handoff-tail-');
  cleanups.push(temp.cleanup);
  const file = path.join(temp.dir, 'lines.jsonl');
  fs.writeFileSync(file, text);
  return file;
}

describe('readTail', () => {
  it('finds nothing in an empty file, and a first line with no newline as partial', () => {
    expect(readTail(fileWith(''))).toMatchObject({ lastLine: null, lastLineOffset: 0, size: 0 });
    const tail = readTail(fileWith('{"seq":1'));
    expect(tail.lastLine).toBeNull();
    expect(tail.partial.toString()).toBe('{"seq":1');
  });

  it('returns the last complete line and where it starts, whatever its length against the reads', () => {
    // Lengths around and well past the first read (4 KiB) and the largest (64 KiB).
    for (const length of [1, 4094, 4095, 4096, 5000, 12_289, 70_000, 300_000]) {
      const first = `{"seq":1,"pad":"${'a'.repeat(10)}"}`;
      const last = `{"seq":2,"pad":"${'é'.repeat(length)}"}`;
      const tail = readTail(fileWith(`${first}\n${last}\n`));
      expect(tail.lastLine).toBe(last);
      expect(tail.lastLineOffset).toBe(Buffer.byteLength(first) + 1);
      expect(tail.partial.length).toBe(0);
      expect(tail.size).toBe(Buffer.byteLength(first) + Buffer.byteLength(last) + 2);
    }
  });

  it('separates a partial last line, short or longer than several reads, from the last complete one', () => {
    for (const length of [3, 9_000, 150_000]) {
      const partial = `{"seq":3,"pad":"${'x'.repeat(length)}`;
      const tail = readTail(fileWith(`{"seq":1}\n{"seq":2}\n${partial}`));
      expect(tail.lastLine).toBe('{"seq":2}');
      expect(tail.lastLineOffset).toBe(10);
      expect(tail.partial.toString()).toBe(partial);
    }
  });
});
