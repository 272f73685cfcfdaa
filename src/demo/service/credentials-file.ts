/**
 * The demo service's credentials file (`DATABASE_URL_FILE`): one line, the connection string of the
 * role the service should log in as, the way a mounted Kubernetes Secret or a Vault agent delivers
 * it. The file is replaced atomically (written beside it, then renamed), so it is watched through its
 * directory (a watch on the file itself would stay on the old inode), with a poll as the fallback
 * where fs.watch misses events (network file systems, some containers). `onChange` is called with
 * each new content, never twice for the same; the content is a secret and is never logged here.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CredentialsWatch {
  close(): void;
}

export interface WatchCredentialsOptions {
  /** How often the file is read when no watch event came; bounded, 500 ms by default. */
  pollMs?: number;
  /** The content already applied (the service read it at start). */
  initial?: string;
}

/** Reads the credentials file: its first line, trimmed; null when missing or empty. */
export function readCredentialsFile(file: string): string | null {
  try {
    const line = fs.readFileSync(file, 'utf8').split('\n')[0]?.trim() ?? '';
    return line === '' ? null : line;
  } catch {
    return null;
  }
}

export function watchCredentialsFile(
  file: string,
  onChange: (url: string) => void,
  options: WatchCredentialsOptions = {},
): CredentialsWatch {
  let last = options.initial ?? readCredentialsFile(file);
  const check = (): void => {
    const current = readCredentialsFile(file);
    if (current === null || current === last) return;
    last = current;
    onChange(current);
  };
  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(path.dirname(file), (_event, name) => {
      if (name === null || name === path.basename(file)) check();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = null;
    });
  } catch {
    watcher = null; // the poll below still follows the file
  }
  const poll = setInterval(check, Math.max(50, Math.min(options.pollMs ?? 500, 5000)));
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      watcher?.close();
    },
  };
}

/** Writes the credentials file atomically, mode 0600 (what the secret delivery does). */
export function writeCredentialsFile(file: string, url: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, `${url}\n`, { mode: 0o600 });
  fs.renameSync(temp, file);
}
