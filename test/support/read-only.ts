import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function everything(dir: string): string[] {
  const out = [dir];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...everything(full));
    else out.push(full);
  }
  return out;
}

/**
 * Makes `dir` and everything below it unwritable for this process, as a read-only mount would:
 * the immutable attribute when running as root (mode bits do not stop root), modes 0555/0444
 * otherwise. Returns the undo. Throws when the directory is still writable afterwards, so a test
 * never passes on a directory it could write.
 */
export function makeReadOnly(dir: string): () => void {
  const root = process.getuid?.() === 0;
  const paths = everything(dir);
  const modes = new Map(paths.map((p) => [p, fs.statSync(p).mode & 0o777]));
  if (root) execFileSync('chattr', ['-R', '+i', dir]);
  else for (const p of paths.reverse()) fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o555 : 0o444);
  const undo = (): void => {
    if (root) execFileSync('chattr', ['-R', '-i', dir]);
    else for (const [p, mode] of modes) fs.chmodSync(p, mode);
  };
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return undo;
  }
  undo();
  throw new Error(`${dir} is still writable after making it read-only (no immutable attribute on this file system?)`);
}
