/**
 * The rehearsal's credentials files for the demo services, with the password-change fault on two real
 * PostgreSQL servers: the fault hands its new password to the files (the environment's
 * `passwordRotated`), the connection string in each file then logs in and the old one does not; the
 * files are private, the password is known to the redactor, another role's rotation changes nothing.
 * (The demo service following its file is test/demo/service-credentials.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { readCredentialsFile } from '../../src/demo/service/credentials-file.js';
import { rehearsalFault } from '../../src/plan/schema.js';
import { passwordChangeInjector } from '../../src/rehearsal/faults/password-change.js';
import {
  createServiceCredentials,
  reapStaleCredentials,
  type ServiceCredentials,
} from '../../src/rehearsal/service-credentials.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { testFaultEnv } from './faults/env.js';

let source: TestPostgres;
let target: TestPostgres;
const opened: ServiceCredentials[] = [];

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query("CREATE ROLE app LOGIN PASSWORD 'old-app-pw'");
    await server.query("CREATE ROLE other LOGIN PASSWORD 'other-pw'");
  }
}, 60_000);
afterAll(async () => {
  for (const credentials of opened) credentials.close();
  await Promise.all([source?.close(), target?.close()]);
}, 60_000);

const appUrl = (server: TestPostgres, password = 'old-app-pw'): string =>
  `postgresql://app:${encodeURIComponent(password)}@127.0.0.1:${server.port}/postgres`;

/** Logs in with a connection string: 'ok', or the server's error code (28P01: wrong password). */
async function login(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
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

function passwordChange(fields: Record<string, unknown> = {}) {
  const fault = rehearsalFault.parse({ kind: 'password-change', name: 'pw', at: { stage: 'bake' }, ...fields });
  if (fault.kind !== 'password-change') throw new Error('not a password-change fault');
  return fault;
}

describe("the rehearsal's credentials files", () => {
  it('a password change is handed to the files: each logs in with the new password, the old one is refused', async () => {
    const redactor = createRedactor();
    const credentials = createServiceCredentials({ source: appUrl(source), target: appUrl(target) }, { redactor });
    opened.push(credentials);
    expect(fs.statSync(credentials.dir).mode & 0o777).toBe(0o700);
    const file = (site: string): string => path.join(credentials.dir, `${site}.url`);
    expect(fs.statSync(file('source')).mode & 0o777).toBe(0o600);
    expect(readCredentialsFile(file('target'))).toBe(appUrl(target));

    const logged: string[] = [];
    const handed: boolean[] = [];
    const active = await passwordChangeInjector.inject(
      passwordChange(),
      testFaultEnv({
        databaseUrl: { source: source.url(), target: target.url() },
        appRole: 'app',
        passwordRotated: (rotation) => {
          handed.push(credentials.rotated(rotation));
          return Promise.resolve();
        },
        logger: {
          debug: (m, f) => void logged.push(`${m} ${JSON.stringify(f)}`),
          info: (m, f) => void logged.push(`${m} ${JSON.stringify(f)}`),
          warn: (m, f) => void logged.push(`${m} ${JSON.stringify(f)}`),
          error: (m, f) => void logged.push(`${m} ${JSON.stringify(f)}`),
          child() {
            return this;
          },
        },
      }),
    );
    expect(handed).toEqual([true, true]);
    for (const [site, server] of [
      ['source', source],
      ['target', target],
    ] as const) {
      const url = readCredentialsFile(file(site)) as string;
      expect(url).not.toBe(appUrl(server));
      expect(await login(url)).toBe('ok');
      expect(await login(appUrl(server))).toBe('28P01');
      expect(fs.statSync(file(site)).mode & 0o777).toBe(0o600);
      // The redactor knows the new password: the connection string comes out without it.
      const password = decodeURIComponent(new URL(url).password);
      expect(redactor.redact(url)).not.toContain(password);
      expect(active.detail).not.toContain(password);
      expect(logged.join('\n')).not.toContain(password);
    }
    credentials.close();
    expect(fs.existsSync(credentials.dir)).toBe(false);
  }, 60_000);

  it("a password userinfo cannot hold as is still logs in; another role's rotation leaves the file alone", async () => {
    await source.query("ALTER ROLE app PASSWORD 'old-app-pw'");
    const credentials = createServiceCredentials(
      { source: appUrl(source), target: appUrl(target, 'x') },
      { redactor: createRedactor() },
    );
    opened.push(credentials);
    const file = path.join(credentials.dir, 'source.url');
    const password = "p@ss/w:rd?#'ü x";
    await passwordChangeInjector.inject(
      passwordChange({ site: 'source', password: { fromEnv: 'PW' } }),
      testFaultEnv({
        databaseUrl: { source: source.url(), target: target.url() },
        appRole: 'app',
        resolveSecret: () => password,
        passwordRotated: (rotation) => Promise.resolve(void credentials.rotated(rotation)),
      }),
    );
    expect(await login(readCredentialsFile(file) as string)).toBe('ok');
    const before = readCredentialsFile(file);
    expect(credentials.rotated({ site: 'source', role: 'other', password: 'new-other-pw' })).toBe(false);
    expect(readCredentialsFile(file)).toBe(before);
    // The target's file was not named by the fault: unchanged.
    expect(readCredentialsFile(path.join(credentials.dir, 'target.url'))).toBe(appUrl(target, 'x'));
  }, 60_000);

  it('removes the credentials directories of rehearsals whose process is gone, and only those', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-reap-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
      fs.mkdirSync(path.join(tmp, `handoff-rehearsal-credentials-${gone}-abc`));
      fs.mkdirSync(path.join(tmp, `handoff-rehearsal-credentials-${process.pid}-def`));
      fs.mkdirSync(path.join(tmp, 'handoff-demo-credentials-1-xyz'));
      expect(reapStaleCredentials(tmp)).toBe(1);
      expect(fs.readdirSync(tmp).sort()).toEqual([
        'handoff-demo-credentials-1-xyz',
        `handoff-rehearsal-credentials-${process.pid}-def`,
      ]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
