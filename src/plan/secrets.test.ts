import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotImplementedError, SecretUnresolvedError, exitCodeFor } from '../common/errors.js';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { loadPlanFile } from './load.js';
import { resolveSecrets } from './secrets.js';

const PASSWORD = 'pw-7Hq!x/y%z';
const SOURCE_URL = `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/orders`;

function plan(urls: { source: string; target: string }, traffic = ''): string {
  const endpoint = (port: number): string => (traffic ? `    endpoint: http://127.0.0.1:${port}\n` : '');
  return `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: secrets-test }
spec:
  source:
    platform: { kind: local }
    databases:
      orders: { url: ${urls.source} }
${endpoint(9001)}  target:
    platform: { kind: local }
    databases:
      orders: { url: ${urls.target} }
${endpoint(9002)}${traffic}`;
}

function unresolved(fn: () => unknown): SecretUnresolvedError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SecretUnresolvedError) return error;
    throw error;
  }
  throw new Error('expected SecretUnresolvedError');
}

describe('resolveSecrets', () => {
  let dir = '';
  let cleanup = (): void => {};
  beforeEach(() => {
    ({ dir, cleanup } = makeTempDir());
    fs.mkdirSync(path.join(dir, 'plans', 'secrets'), { recursive: true });
  });
  afterEach(() => cleanup());

  function write(text: string): string {
    const file = path.join(dir, 'plans', 'plan.yaml');
    fs.writeFileSync(file, text);
    return file;
  }

  it('resolves fromEnv and fromFile (relative to the plan) and registers values and decoded passwords', () => {
    fs.writeFileSync(path.join(dir, 'plans', 'secrets', 'target-url'), 'postgresql://app@127.0.0.1:5433/orders\n');
    const file = write(plan({ source: '{ fromEnv: SRC_URL }', target: '{ fromFile: secrets/target-url }' }));
    const redactor = createRedactor();
    const secrets = resolveSecrets(loadPlanFile(file), { env: { SRC_URL: SOURCE_URL }, cwd: '/', redactor });
    expect(secrets.databaseUrl('source', 'orders')).toBe(SOURCE_URL);
    expect(secrets.databaseUrl('target', 'orders')).toBe('postgresql://app@127.0.0.1:5433/orders');
    expect(redactor.redact(`connecting with ${PASSWORD}`)).toBe('connecting with [REDACTED]');
    expect(redactor.redact(`url ${SOURCE_URL}`)).not.toContain(PASSWORD);
    expect(redactor.redact('postgresql://app@127.0.0.1:5433/orders')).toBe('[REDACTED]');
  });

  it('resolves a plan path relative to cwd', () => {
    fs.writeFileSync(path.join(dir, 'plans', 'secrets', 'url'), 'postgresql://a@h/db');
    write(plan({ source: '{ fromFile: secrets/url }', target: '{ fromEnv: T }' }));
    const relative = path.relative(process.cwd(), path.join(dir, 'plans', 'plan.yaml'));
    expect(path.isAbsolute(relative)).toBe(false);
    const loaded = loadPlanFile(relative);
    const secrets = resolveSecrets(loaded, { env: { T: 'postgresql://b@h/db' }, cwd: process.cwd(), redactor: createRedactor() });
    expect(secrets.databaseUrl('source', 'orders')).toBe('postgresql://a@h/db');
  });

  it('lists every unresolved reference with position and name, exit code 2, and no value', () => {
    const file = write(plan({ source: '{ fromEnv: MISSING_SOURCE }', target: '{ fromFile: secrets/nope }' }));
    const error = unresolved(() =>
      resolveSecrets(loadPlanFile(file), { env: { OTHER: PASSWORD }, cwd: dir, redactor: createRedactor() }),
    );
    expect(exitCodeFor(error)).toBe(2);
    expect(error.code).toBe('secret.unresolved');
    expect(error.issues).toMatchObject([
      { file, line: 8, column: 22, path: 'spec.source.databases.orders.url', message: 'environment variable MISSING_SOURCE is not set' },
      { file, line: 12, column: 22, path: 'spec.target.databases.orders.url' },
    ]);
    expect(error.issues[1]?.message).toContain('file secrets/nope does not exist');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('refuses an empty variable and a variable that holds no PostgreSQL URL, without echoing it', () => {
    const file = write(plan({ source: '{ fromEnv: EMPTY }', target: '{ fromEnv: NOT_A_URL }' }));
    const secretText = 'not-a-url-but-a-secret';
    const redactor = createRedactor();
    const error = unresolved(() => resolveSecrets(loadPlanFile(file), { env: { EMPTY: '', NOT_A_URL: secretText }, cwd: dir, redactor }));
    expect(error.issues.map((issue) => issue.message)).toEqual([
      'environment variable EMPTY is empty',
      expect.stringContaining('environment variable NOT_A_URL does not hold a PostgreSQL URL'),
    ]);
    expect(error.message).not.toContain(secretText);
    expect(redactor.redact(secretText)).toBe('[REDACTED]');
  });

  it('resolves other references (the router admin token) and leaves fromSecret for the Kubernetes platform', () => {
    const file = write(
      plan(
        { source: '{ fromEnv: S }', target: '{ fromSecret: { name: db, key: url } }' },
        `  traffic:
    router: { kind: builtin, listen: "127.0.0.1:8080", adminToken: { fromEnv: TOKEN } }
`,
      ),
    );
    const redactor = createRedactor();
    const secrets = resolveSecrets(loadPlanFile(file), { env: { S: 'postgresql://a@h/db', TOKEN: 'tok-123456' }, cwd: dir, redactor });
    expect(secrets.resolve({ fromEnv: 'TOKEN' }, 'spec.traffic.router.adminToken')).toBe('tok-123456');
    expect(redactor.redact('Bearer tok-123456')).toBe('Bearer [REDACTED]');
    expect(() => secrets.databaseUrl('target', 'orders')).toThrow(NotImplementedError);
    expect(() => secrets.databaseUrl('target', 'payments')).toThrow(/no database "payments"/);
  });
});
