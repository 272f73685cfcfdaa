/**
 * Private temporary directories named `<prefix><pid>-…` after the process that made them: the ones
 * whose process is gone (SIGKILLed before it could remove them) are removed by the next process
 * that makes one. Only that prefix, only directories this user owns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './children.js';

/** Removes `<tmpDir>/<prefix><pid>-…` of processes that no longer run; returns how many. */
export function removeDirsOfGoneProcesses(prefix: string, tmpDir: string = os.tmpdir()): number {
  let removed = 0;
  for (const name of fs.readdirSync(tmpDir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
    const dir = path.join(tmpDir, name);
    try {
      if (fs.statSync(dir).uid !== process.getuid?.()) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed += 1;
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
