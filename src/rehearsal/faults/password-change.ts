/**
 * The password-change fault: the application's login role (or the fault's `role`) gets a new
 * password mid-run, as a secrets manager's rotation would give it, on every database the application
 * logs in to (or the fault's `site`). The new password is the fault's `password` reference, or a
 * random one kept in memory only; it is never logged, never in `detail` or an error.
 *
 * Clear does nothing: a rotated password stays rotated, as after a real rotation. Sessions already
 * open keep working (PostgreSQL checks a password only at login); new logins with the old password
 * fail, so the service must follow the rotation or it loses its new connections: the environment's
 * optional `passwordRotated` hook is handed the new password (as a secrets manager hands a rotation
 * to the services); without it, give `password` as a reference the service reads too. Replication
 * logs in with its own role and must not notice.
 *
 * The password is sent as a SCRAM-SHA-256 verifier computed here (as psql's \password does), so the
 * statement the server sees, and may log, holds no password; a password that is not printable ASCII
 * (which PostgreSQL would SASLprep) is sent as a literal instead, in a session with log_statement off.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { AdapterError, HandoffError, InputError, TimeoutError } from '../../common/errors.js';
import { quoteIdentifier } from '../../data/postgres/identifiers.js';
import { openFaultSession } from './pg-session.js';
import type { ActiveFault, FaultEnvironment, FaultInjector, SiteName } from './types.js';

export const PASSWORD_CHANGE_APPLICATION = 'rehearsal-password-change';
const SCRAM_ITERATIONS = 4096;

/** PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802, RFC 7677), as pg_authid stores it. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function passwordLiteral(password: string): string {
  const value = /^[\x20-\x7e]+$/.test(password) ? scramVerifier(password) : password;
  return `'${value.replace(/'/g, "''")}'`;
}

async function changeOn(site: SiteName, url: string, role: string, password: string, name: string): Promise<void> {
  const session = await openFaultSession(url, site, PASSWORD_CHANGE_APPLICATION);
  try {
    await session.client.query("SET log_statement = 'none'");
    const exists = await session.client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (exists.rowCount === 0) {
      throw new InputError(`password-change fault "${name}": role ${role} does not exist on the ${site} database`);
    }
    await session.client.query(`ALTER ROLE ${quoteIdentifier(role)} PASSWORD ${passwordLiteral(password)}`);
  } catch (error) {
    if (error instanceof HandoffError) throw error;
    // The server's message names the role, never the statement's text; keep only its code and message.
    const { code, message } = error as { code?: string; message?: string };
    throw new AdapterError(
      `password-change fault "${name}": ALTER ROLE ${role} failed on the ${site} database: ${code ?? ''} ${message ?? ''}`.trim(),
      { retryable: true },
    );
  } finally {
    await session.close();
  }
}

/** How long the environment may take to hand a rotation on. */
const ROTATION_BOUND_MS = 30_000;

async function tellRotation(
  env: FaultEnvironment,
  rotation: { site: SiteName; role: string; password: string },
  name: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TimeoutError(
            `password-change fault "${name}": handing the rotation of ${rotation.role} on the ${rotation.site} database on took over ${ROTATION_BOUND_MS} ms`,
          ),
        ),
      ROTATION_BOUND_MS,
    );
  });
  try {
    await Promise.race([(env.passwordRotated as NonNullable<FaultEnvironment['passwordRotated']>)(rotation), bound]);
  } catch (error) {
    if (error instanceof TimeoutError) throw error;
    // The hook's own message may quote what it was given: keep it out.
    throw new AdapterError(
      `password-change fault "${name}": the password of ${rotation.role} was changed on the ${rotation.site} database, but handing it to the services failed`,
      { retryable: false },
    );
  } finally {
    clearTimeout(timer);
  }
}

export const passwordChangeInjector: FaultInjector<'password-change'> = {
  kind: 'password-change',
  async inject(fault, env, signal) {
    signal?.throwIfAborted();
    const role = fault.role ?? env.appRole;
    const sites: SiteName[] = fault.site === undefined || fault.site === 'both' ? ['source', 'target'] : [fault.site];
    const given = fault.password !== undefined;
    const password = given
      ? env.resolveSecret(fault.password, `rehearsal fault "${fault.name}" password`)
      : randomBytes(24).toString('base64url');
    if (password.length === 0) {
      throw new InputError(`password-change fault "${fault.name}": its password reference resolves to an empty value`);
    }
    const changed: SiteName[] = [];
    for (const site of sites) {
      try {
        signal?.throwIfAborted();
        await changeOn(site, env.databaseUrl[site], role, password, fault.name);
      } catch (error) {
        if (changed.length === 0 || !(error instanceof HandoffError)) throw error;
        const note = ` (it was changed on the ${changed.join(' and ')} database already)`;
        throw error instanceof InputError
          ? new InputError(`${error.message}${note}`)
          : new AdapterError(`${error.message}${note}`, { retryable: error.retryable });
      }
      changed.push(site);
    }
    env.logger.info('password-change fault: password changed', { fault: fault.name, role, sites });
    let handed = 'no rotation hook: services keep the old password (open sessions go on, new logins fail)';
    if (env.passwordRotated) {
      for (const site of sites) await tellRotation(env, { site, role, password }, fault.name);
      handed = 'handed to the services through the rotation hook';
    }
    const source = given ? "the fault's password reference" : 'a random one, kept in memory only';
    return {
      detail: `password of role ${role} changed on the ${sites.join(' and ')} database${sites.length > 1 ? 's' : ''} (new password: ${source}, ${handed}); it stays changed after clear`,
      clear: () => Promise.resolve(),
    } satisfies ActiveFault;
  },
};
