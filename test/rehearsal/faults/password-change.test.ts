/**
 * The password-change fault on two real PostgreSQL servers: the role's old password no longer logs
 * in and the new one does, on the sites named (both by default); open sessions and another role
 * (replication's) are untouched; no password reaches detail, the logs or an error.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import type { Logger, LogFields } from '../../../src/common/logger.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { passwordChangeInjector } from '../../../src/rehearsal/faults/password-change.js';
import type { FaultEnvironment } from '../../../src/rehearsal/faults/types.js';
import { startTestPostgresAll, type TestPostgres } from '../../support/postgres.js';
import { testFaultEnv } from './env.js';

let source: TestPostgres;
let target: TestPostgres;
const logged: string[] = [];

function capturingLogger(): Logger {
  const log = (message: string, fields?: LogFields): void => {
    logged.push(`${message} ${JSON.stringify(fields ?? {})}`);
  };
  return { debug: log, info: log, warn: log, error: log, child: () => capturingLogger() };
}

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query("CREATE ROLE app LOGIN PASSWORD 'old-app-pw'");
    await server.query("CREATE ROLE replicator LOGIN REPLICATION PASSWORD 'repl-pw'");
  }
}, 60_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
}, 60_000);

function env(secret?: string): FaultEnvironment {
  return testFaultEnv({
    databaseUrl: { source: source.url(), target: target.url() },
    appRole: 'app',
    logger: capturingLogger(),
    resolveSecret: (ref, where) => {
      expect(ref).toEqual({ fromEnv: 'NEW_APP_PASSWORD' });
      expect(where).toMatch(/password/);
      if (secret === undefined) throw new Error('no secret in this test');
      return secret;
    },
  });
}

function passwordChange(fields: Record<string, unknown> = {}) {
  const fault = rehearsalFault.parse({ kind: 'password-change', name: 'pw', at: { stage: 'bake' }, ...fields });
  if (fault.kind !== 'password-change') throw new Error('not a password-change fault');
  return fault;
}

/** Logs in as `user` with `password`: 'ok', or the server's error code (28P01: wrong password). */
async function login(server: TestPostgres, user: string, password: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user, password, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('password-change fault', () => {
  it("the fault's password on one site: the old one fails there, the new one logs in; the other site keeps the old", async () => {
    const newPassword = 'n3w-app-pw-from-secret';
    const active = await passwordChangeInjector.inject(
      passwordChange({ site: 'source', password: { fromEnv: 'NEW_APP_PASSWORD' } }),
      env(newPassword),
    );
    expect(active.detail).toBe(
      "password of role app changed on the source database (new password: the fault's password reference, no rotation hook: services keep the old password (open sessions go on, new logins fail)); it stays changed after clear",
    );
    expect(await login(source, 'app', 'old-app-pw')).toBe('28P01');
    expect(await login(source, 'app', newPassword)).toBe('ok');
    expect(await login(target, 'app', 'old-app-pw')).toBe('ok');
    await active.clear();
    expect(await login(source, 'app', newPassword)).toBe('ok');
    expect(active.detail).not.toContain(newPassword);
    expect(logged.join('\n')).not.toContain(newPassword);
  }, 30_000);

  it('a random password on both sites by default: old logins fail, open sessions and replication role go on', async () => {
    const open = new pg.Client({
      host: '127.0.0.1',
      port: target.port,
      user: 'app',
      password: 'old-app-pw',
      database: 'postgres',
    });
    await open.connect();
    try {
      const before = (await target.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'app'"))
        .rows[0]?.p;
      const active = await passwordChangeInjector.inject(passwordChange(), env());
      expect(active.detail).toBe(
        'password of role app changed on the source and target databases (new password: a random one, kept in memory only, no rotation hook: services keep the old password (open sessions go on, new logins fail)); it stays changed after clear',
      );
      const after = (await target.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = 'app'"))
        .rows[0]?.p;
      expect(after).not.toBe(before);
      expect(after).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect(await login(target, 'app', 'old-app-pw')).toBe('28P01');
      expect(await login(source, 'app', 'n3w-app-pw-from-secret')).toBe('28P01');
      expect((await open.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
      for (const server of [source, target]) expect(await login(server, 'replicator', 'repl-pw')).toBe('ok');
    } finally {
      await open.end();
    }
  }, 30_000);

  it('a password that is not plain ASCII (and has a quote) logs in too', async () => {
    const odd = "pässwörd-ü'x";
    await passwordChangeInjector.inject(
      passwordChange({ site: 'target', password: { fromEnv: 'NEW_APP_PASSWORD' } }),
      env(odd),
    );
    expect(await login(target, 'app', odd)).toBe('ok');
  }, 30_000);

  it('a role that does not exist is an InputError naming the role and site; no password in it', async () => {
    const error = await passwordChangeInjector
      .inject(passwordChange({ role: 'nobody', password: { fromEnv: 'NEW_APP_PASSWORD' } }), env('s3cr3t-value'))
      .catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('input.invalid');
    expect((error as Error).message).toBe(
      'password-change fault "pw": role nobody does not exist on the source database',
    );
  }, 30_000);

  it('a random password is handed to the rotation hook for each site, and it logs in there; detail holds none', async () => {
    const rotations: { site: string; role: string; password: string }[] = [];
    const active = await passwordChangeInjector.inject(passwordChange(), {
      ...env(),
      passwordRotated: (rotation) => {
        rotations.push(rotation);
        return Promise.resolve();
      },
    });
    expect(rotations.map((r) => [r.site, r.role])).toEqual([
      ['source', 'app'],
      ['target', 'app'],
    ]);
    const password = rotations[0]?.password as string;
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(rotations[1]?.password).toBe(password);
    expect(await login(source, 'app', password)).toBe('ok');
    expect(await login(target, 'app', password)).toBe('ok');
    expect(active.detail).toMatch(/handed to the services through the rotation hook/);
    expect(active.detail).not.toContain(password);
    expect(logged.join('\n')).not.toContain(password);
  }, 30_000);

  it('a rotation hook that fails is an AdapterError that says the password was changed and quotes nothing', async () => {
    const error = await passwordChangeInjector
      .inject(passwordChange({ site: 'source', password: { fromEnv: 'NEW_APP_PASSWORD' } }), {
        ...env('hook-fails-pw'),
        passwordRotated: () => Promise.reject(new Error('cannot use hook-fails-pw')),
      })
      .catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('adapter');
    expect((error as Error).message).toMatch(
      /was changed on the source database, but handing it to the services failed/,
    );
    expect((error as Error).message).not.toContain('hook-fails-pw');
    expect(await login(source, 'app', 'hook-fails-pw')).toBe('ok');
  }, 30_000);
});
