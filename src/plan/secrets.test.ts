import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InternalError, SecretUnresolvedError, exitCodeFor } from '../common/errors.js';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { loadPlanFile } from './load.js';
import { kubernetesSecretFindings } from './secret-check.js';
import type { KubernetesSecretLocation, KubernetesSecretReader, SecretReadResult } from './secret-location.js';
import { resolveSecrets } from './secrets.js';

const PASSWORD = 'pw-7Hq!x/y%z';
const SOURCE_URL = `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/orders`;

const KUBE_TARGET = '{ kind: kubernetes, context: gke, namespace: shop }';

function plan(urls: { source: string; target: string }, traffic = '', targetPlatform = '{ kind: local }'): string {
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
    platform: ${targetPlatform}
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
    const secrets = resolveSecrets(loaded, {
      env: { T: 'postgresql://b@h/db' },
      cwd: process.cwd(),
      redactor: createRedactor(),
    });
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
      {
        file,
        line: 8,
        column: 22,
        path: 'spec.source.databases.orders.url',
        message: 'environment variable MISSING_SOURCE is not set',
      },
      { file, line: 12, column: 22, path: 'spec.target.databases.orders.url' },
    ]);
    expect(error.issues[1]?.message).toContain('file secrets/nope does not exist');
    expect(error.message).not.toContain(PASSWORD);
  });

  it('refuses an empty variable and a variable that holds no PostgreSQL URL, without echoing it', () => {
    const file = write(plan({ source: '{ fromEnv: EMPTY }', target: '{ fromEnv: NOT_A_URL }' }));
    const secretText = 'not-a-url-but-a-secret';
    const redactor = createRedactor();
    const error = unresolved(() =>
      resolveSecrets(loadPlanFile(file), { env: { EMPTY: '', NOT_A_URL: secretText }, cwd: dir, redactor }),
    );
    expect(error.issues.map((issue) => issue.message)).toEqual([
      'environment variable EMPTY is empty',
      expect.stringContaining('environment variable NOT_A_URL does not hold a PostgreSQL URL'),
    ]);
    expect(error.message).not.toContain(secretText);
    expect(redactor.redact(secretText)).toBe('[REDACTED]');
  });

  it('resolves other references (the router admin token); fromSecret is read only by loadKubernetes', async () => {
    const file = write(
      plan(
        { source: '{ fromEnv: S }', target: '{ fromSecret: { name: db, key: url } }' },
        `  traffic:
    router: { kind: builtin, listen: "127.0.0.1:8080", adminToken: { fromEnv: TOKEN } }
`,
        KUBE_TARGET,
      ),
    );
    const redactor = createRedactor();
    const secrets = resolveSecrets(loadPlanFile(file), {
      env: { S: 'postgresql://a@h/db', TOKEN: 'tok-123456' },
      cwd: dir,
      redactor,
    });
    expect(secrets.kubernetesRefs).toBe(1);
    expect(secrets.resolve({ fromEnv: 'TOKEN' }, 'spec.traffic.router.adminToken')).toBe('tok-123456');
    expect(redactor.redact('Bearer tok-123456')).toBe('Bearer [REDACTED]');
    expect(() => secrets.databaseUrl('target', 'orders')).toThrow(InternalError);
    expect(() => secrets.databaseUrl('target', 'payments')).toThrow(/no database "payments"/);
  });
});

/** An in-memory Secret store keyed `context/namespace/name/key`, recording each read. */
function fakeReader(
  entries: Record<string, SecretReadResult>,
): KubernetesSecretReader & { reads: KubernetesSecretLocation[] } {
  const reads: KubernetesSecretLocation[] = [];
  return {
    reads,
    read: async (location) => {
      reads.push(location);
      return (
        entries[`${location.context}/${location.namespace}/${location.name}/${location.key}`] ?? {
          reason: 'not-found',
          message: `Secret not found (404): secrets "${location.name}" not found`,
        }
      );
    },
  };
}

describe('resolveSecrets: Kubernetes Secret references', () => {
  let dir = '';
  let cleanup = (): void => {};
  beforeEach(() => ({ dir, cleanup } = makeTempDir()));
  afterEach(() => cleanup());

  const TARGET_PASSWORD = 'k8s-Pa55/w%rd';
  const TARGET_URL = `postgresql://app:${encodeURIComponent(TARGET_PASSWORD)}@127.0.0.1:5433/orders`;

  function load(target: string, source = '{ fromEnv: S }', sourcePlatform?: string) {
    const file = path.join(dir, 'plan.yaml');
    let text = plan({ source, target }, '', KUBE_TARGET);
    if (sourcePlatform) text = text.replace('platform: { kind: local }', `platform: ${sourcePlatform}`);
    fs.writeFileSync(file, text);
    return loadPlanFile(file);
  }

  it("reads a key with the site's context and namespace by default, registers it with the redactor, and resolves it", async () => {
    const loaded = load('{ fromSecret: { name: db, key: url } }');
    const redactor = createRedactor();
    const secrets = resolveSecrets(loaded, { env: { S: 'postgresql://a@h/db' }, cwd: dir, redactor });
    const reader = fakeReader({ 'gke/shop/db/url': { value: TARGET_URL } });
    await secrets.loadKubernetes(reader);
    expect(reader.reads).toEqual([{ context: 'gke', namespace: 'shop', name: 'db', key: 'url' }]);
    expect(redactor.redact(`pw ${TARGET_PASSWORD} url ${TARGET_URL}`)).toBe('pw [REDACTED] url [REDACTED]');
    expect(secrets.databaseUrl('target', 'orders')).toBe(TARGET_URL);
    expect(kubernetesSecretFindings(loaded.plan, secrets)).toEqual([]);
    // Loaded once: a second load reads nothing again.
    await secrets.loadKubernetes(reader);
    expect(reader.reads).toHaveLength(1);
  });

  it('takes context and namespace from the reference over the site, and reads a Secret key named twice once', async () => {
    const ref = '{ fromSecret: { name: db, key: url, namespace: vault, context: ops } }';
    const loaded = load(ref.replace('key: url,', 'key: source-url,'), ref, KUBE_TARGET.replace('gke', 'eks'));
    const secrets = resolveSecrets(loaded, { env: {}, cwd: dir, redactor: createRedactor() });
    const reader = fakeReader({
      'ops/vault/db/url': { value: 'postgresql://a@h/db' },
      'ops/vault/db/source-url': { value: 'postgresql://b@h/db' },
    });
    await secrets.loadKubernetes(reader);
    expect(reader.reads.map((r) => `${r.context}/${r.namespace}/${r.name}/${r.key}`).sort()).toEqual([
      'ops/vault/db/source-url',
      'ops/vault/db/url',
    ]);
    expect(secrets.databaseUrl('source', 'orders')).toBe('postgresql://a@h/db');
    expect(secrets.databaseUrl('target', 'orders')).toBe('postgresql://b@h/db');
  });

  it('turns what cannot be read into secret.unreadable blockers naming site, Secret, path and reason, and reads failures again', async () => {
    const loaded = load(
      '{ fromSecret: { name: db, key: url } }',
      '{ fromSecret: { name: src, key: url } }',
      KUBE_TARGET.replace('gke', 'eks'),
    );
    const secrets = resolveSecrets(loaded, { env: {}, cwd: dir, redactor: createRedactor() });
    const reader = fakeReader({
      'eks/shop/src/url': { reason: 'forbidden', message: 'forbidden by RBAC (403): secrets "src" is forbidden' },
    });
    await secrets.loadKubernetes(reader);
    const error = unresolved(() => secrets.databaseUrl('target', 'orders'));
    expect(error.details.reason).toBe('not-found');
    expect(error.issues[0]).toMatchObject({ line: 12, path: 'spec.target.databases.orders.url' });
    const findings = kubernetesSecretFindings(loaded.plan, secrets);
    expect(findings).toEqual([
      {
        id: 'secret.unreadable',
        severity: 'blocker',
        subject: 'spec.source.databases.orders.url',
        message:
          'source site: Kubernetes Secret shop/src key url (context eks) cannot be read: forbidden by RBAC (403): secrets "src" is forbidden',
        remediation: expect.stringContaining('`get` on secrets') as unknown,
      },
      {
        id: 'secret.unreadable',
        severity: 'blocker',
        subject: 'spec.target.databases.orders.url',
        message:
          'target site: Kubernetes Secret shop/db key url (context gke) cannot be read: Secret not found (404): secrets "db" not found',
        remediation: expect.stringContaining('create the Secret') as unknown,
      },
    ]);
    await secrets.loadKubernetes(reader);
    expect(reader.reads).toHaveLength(4);
  });

  it('refuses source and target reading the same Secret key (after defaults) as one database for both sites', () => {
    const ref = '{ fromSecret: { name: db, key: url, namespace: shop, context: gke } }';
    expect(() => load('{ fromSecret: { name: db, key: url } }', ref, KUBE_TARGET)).toThrow(
      /12:22: spec\.target\.databases\.orders\.url: source and target database "orders" use the same Kubernetes Secret key \(shop\/db key url, context gke\)/,
    );
    expect(() => load('{ fromSecret: { name: db, key: url } }', ref, KUBE_TARGET.replace('gke', 'eks'))).toThrow(
      /use the same Kubernetes Secret key/,
    );
    expect(() =>
      load(
        '{ fromSecret: { name: db, key: url } }',
        '{ fromSecret: { name: db, key: url } }',
        KUBE_TARGET.replace('gke', 'eks'),
      ),
    ).not.toThrow();
  });

  it('refuses a Secret key that holds no PostgreSQL URL, without echoing it', async () => {
    const loaded = load('{ fromSecret: { name: db, key: password } }');
    const redactor = createRedactor();
    const secrets = resolveSecrets(loaded, { env: { S: 'postgresql://a@h/db' }, cwd: dir, redactor });
    await secrets.loadKubernetes(fakeReader({ 'gke/shop/db/password': { value: 'just-a-password' } }));
    const [finding] = kubernetesSecretFindings(loaded.plan, secrets);
    expect(finding?.message).toContain('does not hold a PostgreSQL URL');
    expect(finding?.message).not.toContain('just-a-password');
    expect(redactor.redact('just-a-password')).toBe('[REDACTED]');
  });
});
