/** Reads a JSON-lines file line by line in bounded memory (synchronously, in 1 MiB chunks). */
import fs from 'node:fs';

export interface Line {
  /** 1-based line number. */
  number: number;
  text: string;
  /** False for a last line with no newline after it: a write that did not finish. */
  terminated: boolean;
}

const CHUNK = 1024 * 1024;

export function* readLines(file: string): Generator<Line> {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(CHUNK);
    let pending: Buffer[] = [];
    let number = 0;
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, CHUNK, null);
      if (read === 0) break;
      let start = 0;
      for (let index = chunk.indexOf(0x0a, 0); index !== -1 && index < read; index = chunk.indexOf(0x0a, index + 1)) {
        pending.push(Buffer.from(chunk.subarray(start, index)));
        number++;
        yield { number, text: Buffer.concat(pending).toString('utf8'), terminated: true };
        pending = [];
        start = index + 1;
      }
      if (start < read) pending.push(Buffer.from(chunk.subarray(start, read)));
    }
    if (pending.length > 0) {
      yield { number: number + 1, text: Buffer.concat(pending).toString('utf8'), terminated: false };
    }
  } finally {
    fs.closeSync(fd);
  }
}
