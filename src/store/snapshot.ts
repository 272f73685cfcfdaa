/**
 * Reading a state store that this process cannot write: a copy of a run's state directory handed
 * to an auditor, a read-only mount, another user's directory. SQLite cannot open a WAL database,
 * even read-only, where it cannot create the `-shm` file beside it (SQLITE_READONLY_DIRECTORY), so
 * such a store is read from a private snapshot: `state.db` and, when there is one, its `-wal` (the
 * commits not yet checkpointed into it), copied into a new 0700 directory under the system's
 * temporary directory and removed when the reader closes it, or at the latest when the process
 * exits. The state directory itself is not touched: no `-wal`, `-shm` or lock file appears in it.
 *
 * A snapshot is what the files held when it was taken; a store that another process is writing at
 * that moment (through a mount this process only reads) may be caught between a checkpoint and the
 * next commit, and then lacks the commits of that moment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../common/errors.js';
import { rawCode } from '../common/retry.js';

/** Whether this process can write `file` and create files beside it (its `-wal` and `-shm` too, when present). */
export function canWriteStore(file: string): boolean {
  const candidates = [path.dirname(file), file, `${file}-wal`, `${file}-shm`];
  return candidates.every((candidate, i) => {
    if (i >= 2 && !fs.existsSync(candidate)) return true;
    try {
      fs.accessSync(candidate, fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface StoreSnapshot {
  /** The copy of the database to open. */
  readonly file: string;
  /** Removes the copy. Idempotent. */
  dispose(): void;
}

const live = new Set<string>();
let exitHook = false;

/** Copies `file` (and its `-wal`) into a private temporary directory; see the header. */
export function snapshotStore(file: string): StoreSnapshot {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-state-'));
  const dispose = (): void => {
    live.delete(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const copy = path.join(dir, path.basename(file));
  try {
    fs.chmodSync(dir, 0o700);
    for (const [from, to] of [
      [file, copy],
      [`${file}-wal`, `${copy}-wal`],
    ] as const) {
      if (from !== file && !fs.existsSync(from)) continue;
      fs.copyFileSync(from, to);
      // The copy keeps the original's mode (0444 on a read-only copy): SQLite must write the copy.
      fs.chmodSync(to, 0o600);
    }
  } catch (error) {
    dispose();
    throw new InputError(
      `cannot read the state store ${file}${rawCode(error) === null ? '' : ` (${rawCode(error)})`}: it cannot be written here, and a copy of it could not be made under ${os.tmpdir()}`,
      { cause: error },
    );
  }
  live.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const left of [...live]) fs.rmSync(left, { recursive: true, force: true });
    });
  }
  return { file: copy, dispose };
}
