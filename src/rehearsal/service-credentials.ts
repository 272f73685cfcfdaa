/**
 * The rehearsal's secret delivery to the demo services, as issue 16's blue/green rotation does it
 * (src/demo/demo-credentials.ts): one credentials file per site, `<site>.url`, mode 0600 in a private
 * temporary directory (mode 0700, never the state directory), holding the service's connection
 * string; each service follows its file (DATABASE_URL_FILE, src/demo/service/credentials-file.ts)
 * and swaps its pool when it changes. A password-change fault's rotation (the fault environment's
 * `passwordRotated`) rewrites the file of that site with the new password, so the service logs in
 * with it from then on. The new password is registered with the redactor first and never logged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirsOfGoneProcesses } from '../common/stale-dirs.js';
import type { Redactor } from '../common/redact.js';
import { writeCredentialsFile } from '../demo/service/credentials-file.js';
import type { SiteName } from './faults/types.js';

export interface ServiceCredentials {
  /** The private directory of the files; the plan's DATABASE_URL_FILE is `<dir>/{{site}}.url`. */
  readonly dir: string;
  /**
   * A rotation of `role`'s password on `site`: the site's file gets the new password when its
   * connection string logs in as `role` (another role's rotation concerns no service: nothing to do).
   * Returns whether the file was rewritten.
   */
  rotated(rotation: { site: SiteName; role: string; password: string }): boolean;
  /** Removes the directory (the services must be stopped first). Idempotent. */
  close(): void;
}

const PREFIX = 'handoff-rehearsal-credentials-';

/**
 * Removes the credentials directories of rehearsals whose process is gone (SIGKILLed before its
 * `stop`): only this prefix, only directories owned by this user. How many it removed.
 */
export function reapStaleCredentials(tmpDir: string = os.tmpdir()): number {
  return removeDirsOfGoneProcesses(PREFIX, tmpDir);
}

export function createServiceCredentials(
  urls: Record<SiteName, string>,
  deps: { redactor: Redactor },
): ServiceCredentials {
  reapStaleCredentials();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  // Removed at exit too: a SIGINT or SIGTERM ends the rehearsal from its handler, before `close`.
  const removeAtExit = (): void => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeAtExit);
  const current: Record<SiteName, string> = { ...urls };
  const fileOf = (site: SiteName): string => path.join(dir, `${site}.url`);
  for (const site of ['source', 'target'] as const) writeCredentialsFile(fileOf(site), current[site]);
  return {
    dir,
    rotated({ site, role, password }) {
      const url = new URL(current[site]);
      if (decodeURIComponent(url.username) !== role) return false;
      deps.redactor.add(password);
      // The URL setter percent-encodes what userinfo cannot hold as is.
      url.password = password;
      current[site] = url.toString();
      deps.redactor.add(url.password);
      writeCredentialsFile(fileOf(site), current[site]);
      return true;
    },
    close() {
      process.off('exit', removeAtExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
