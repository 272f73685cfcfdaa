/**
 * Database URLs from Kubernetes Secrets (`url: { fromSecret: { name, key } }`), through the CLI,
 * against two Kubernetes API test servers and two embedded PostgreSQL servers. The whole URL,
 * password included, lives in a Secret in each site's namespace (the schema's `url` takes a
 * reference to the whole URL). A run goes to its end and no byte it writes holds the passwords;
 * a missing Secret, a missing key and an RBAC denial are `secret.unreadable` blockers from
 * `handoff preflight -f` (exit 1) and from `handoff run` (rolled back in preflight), with nothing
 * created on either database or cluster.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LABEL_MIGRATION } from '../../src/platforms/kubernetes/apply.js';
import { runCli, type CliResult } from '../support/cli.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import type { KubeTestServer } from '../support/kube/server.js';
import { leftovers } from '../postgres/inspect.js';
import { findLeaks, placesOf } from '../support/leak-forms.js';
import { createRedactor } from '../../src/common/redact.js';
import { createKubernetesSecretReader } from '../../src/platforms/kubernetes/secrets.js';
import { fullTransforms, planDocument, startPair, type ClusterPair } from './clusters.js';

const CLI_TIMEOUT = 150_000;
const TABLES = `create table public.orders (id bigint primary key, customer text not null, amount numeric(10,2) not null);`;

let pair: ClusterPair;
let source: TestPostgres;
let target: TestPostgres;

function secret(name: string, data: Record<string, string>, namespace = 'shop'): Record<string, unknown> {
  const encoded = Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
  );
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data: encoded };
}

/** The target's Secret lives outside the namespace handoff provisions (which does not exist there yet). */
const TARGET_REF = { name: 'shop-db', key: 'url', namespace: 'credentials' };

/**
 * A plan moving namespace shop and database shop. The source's URL comes from Secret `shop-db` key
 * `url` in the site's namespace (the default), the target's from namespace `credentials`.
 */
function writePlan(
  file: string,
  refs: { source?: Record<string, string>; target?: Record<string, string> } = {},
): string {
  const document = planDocument(pair, { selector: { app: 'shop' }, transforms: fullTransforms });
  const { spec } = document;
  const full = {
    ...document,
    spec: {
      ...spec,
      source: {
        ...spec.source,
        databases: { shop: { url: { fromSecret: refs.source ?? { name: 'shop-db', key: 'url' } } } },
      },
      target: { ...spec.target, databases: { shop: { url: { fromSecret: refs.target ?? TARGET_REF } } } },
      data: [{ database: 'shop', tables: ['public.*'] }],
    },
  };
  const out = path.join(pair.dir, file);
  fs.writeFileSync(out, stringify(full));
  return out;
}

/** Every file under a directory, recursively (SQLite database, WAL, trail, keys, reports...). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.isFile() ? [full] : [];
  });
}

/**
 * No 8-character piece of either password, in any encoding the canary knows (built apart from the
 * redactor: raw, base64 at each alignment, hex and percent-encoding in both cases, JSON-escaped), in
 * any file under the directories or in any of the outputs.
 */
function expectNoPassword(dirs: string[], outputs: Record<string, string>): void {
  const leaks = findLeaks(
    { 'source password': source.password, 'target password': target.password },
    placesOf(dirs, outputs, filesUnder),
  );
  expect(leaks).toEqual([]);
}

const labelledOn = (server: KubeTestServer): number =>
  server.catalog
    .all()
    .flatMap((t) => server.store.list(t))
    .filter((o) => (o.metadata.labels as Record<string, string> | undefined)?.[LABEL_MIGRATION] === 'shop-to-gke')
    .length;

const writes = (server: KubeTestServer): string[] =>
  server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

async function nothingCreated(): Promise<void> {
  expect(labelledOn(pair.target)).toBe(0);
  expect(pair.target.read('apps/v1', 'Deployment', 'web', 'shop')).toBeUndefined();
  expect(writes(pair.source)).toEqual([]);
  expect(writes(pair.target)).toEqual([]);
  expect(await leftovers(source, 'shop')).toEqual([]);
  expect(await leftovers(target, 'shop')).toEqual([]);
  expect(
    (await target.query<{ n: number }>('select count(*)::int as n from public.orders', [], 'shop')).rows[0]?.n,
  ).toBe(0);
}

async function cli(args: string[], stateDir: string): Promise<CliResult> {
  return runCli(args, { cwd: pair.dir, env: { HANDOFF_STATE_DIR: stateDir }, timeoutMs: CLI_TIMEOUT });
}

beforeAll(async () => {
  pair = await startPair();
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.createDatabase('shop');
    await server.query(TABLES, [], 'shop');
  }
  await source.query(
    `insert into public.orders select g, 'c' || g, g / 10.0 from generate_series(1, 3000) g`,
    [],
    'shop',
  );
  pair.source.seed([secret('shop-db', { url: source.url('shop') })]);
  pair.target.seed([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'credentials' } },
    secret('shop-db', { url: target.url('shop') }, 'credentials'),
  ]);
  expect(source.password.length).toBeGreaterThanOrEqual(16);
  // Requests made while seeding do not count as handoff's.
  pair.source.requests.length = 0;
  pair.target.requests.length = 0;
}, 120_000);

afterAll(async () => {
  await Promise.all([pair?.close(), source?.close(), target?.close()]);
});

describe('secret.unreadable: Secrets that cannot be read stop preflight and the run, nothing created', () => {
  const cases = [
    {
      what: 'a missing Secret',
      refs: { target: { name: 'absent-db', key: 'url' } },
      message:
        /target site: Kubernetes Secret shop\/absent-db key url \(context gke\) cannot be read: Secret not found \(404\).*secrets "absent-db" not found/,
    },
    {
      what: 'a missing key',
      refs: { source: { name: 'shop-db', key: 'password' } },
      message:
        /source site: Kubernetes Secret shop\/shop-db key password \(context eks\) cannot be read: key missing: the Secret has no key "password" \(its keys: url\)/,
    },
    {
      what: 'an RBAC denial',
      refs: { source: { name: 'locked-db', key: 'url' } },
      deny: true,
      message:
        /source site: Kubernetes Secret shop\/locked-db key url \(context eks\) cannot be read: forbidden by RBAC \(403\): .*secrets "locked-db" is forbidden: User "kube-test-user" cannot get resource "secrets" in API group "" in the namespace "shop" \(Forbidden, 403\)/,
    },
  ];

  for (const testCase of cases) {
    it(
      `${testCase.what}: handoff preflight -f exits 1 naming the reference and the reason, then handoff run rolls back in preflight`,
      { timeout: 200_000 },
      async () => {
        const file = writePlan(`unreadable-${testCase.what.replace(/\W+/g, '-')}.yaml`, testCase.refs);
        const undeny = testCase.deny
          ? (pair.source.seed([secret('locked-db', { url: source.url('shop') })]),
            pair.source.authorizer.deny({
              verb: 'get',
              group: '',
              resource: 'secrets',
              namespace: 'shop',
              name: 'locked-db',
            }))
          : () => {};
        pair.source.requests.length = 0;
        pair.target.requests.length = 0;
        const stateDir = path.join(pair.dir, `state-${testCase.what.replace(/\W+/g, '-')}`);
        try {
          const preflight = await cli(['preflight', '-f', file, '-o', 'json'], stateDir);
          expect(preflight.code, preflight.stderr).toBe(1);
          const report = JSON.parse(preflight.stdout) as {
            ok: boolean;
            findings: Array<{ id: string; severity: string; subject: string; message: string }>;
          };
          expect(report.ok).toBe(false);
          const unreadable = report.findings.filter((f) => f.id === 'secret.unreadable');
          expect(unreadable).toHaveLength(1);
          expect(unreadable[0]?.severity).toBe('blocker');
          expect(unreadable[0]?.subject).toMatch(/^spec\.(source|target)\.databases\.shop\.url$/);
          expect(unreadable[0]?.message).toMatch(testCase.message);
          expectNoPassword([], { 'preflight stdout': preflight.stdout, 'preflight stderr': preflight.stderr });
          await nothingCreated();

          const run = await cli(['run', '-f', file, '-o', 'json'], stateDir);
          expect(run.code, run.stderr).toBe(1);
          expect(JSON.parse(run.stdout)).toMatchObject({ state: 'rolled-back' });
          // The log lines quote field values (a quote inside is written \").
          const logged = run.stderr.replace(/\\"/g, '"');
          expect(logged).toMatch(/preflight-findings .*secret\.unreadable/);
          expect(logged).toMatch(testCase.message);
          expectNoPassword([stateDir], { 'run stdout': run.stdout, 'run stderr': run.stderr });
          await nothingCreated();
        } finally {
          undeny();
        }
      },
    );
  }
});

describe('a run whose database URLs come from Kubernetes Secrets', () => {
  it(
    'preflight passes, the run goes to its end, and no password reaches the state directory, trail, report, logs or output',
    { timeout: 400_000 },
    async () => {
      const file = writePlan('plan.yaml');
      const stateDir = path.join(pair.dir, 'state-ok');
      const outputs: Record<string, string> = {};
      const step = async (args: string[], code = 0): Promise<CliResult> => {
        const result = await cli(args, stateDir);
        outputs[`${args.join(' ')} stdout`] = result.stdout;
        outputs[`${args.join(' ')} stderr`] = result.stderr;
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
        return result;
      };

      const preflight = await step(['preflight', '-f', file, '-o', 'json']);
      const report = JSON.parse(preflight.stdout) as { findings: Array<{ id: string }> };
      expect(report.findings.map((f) => f.id)).not.toContain('secret.unreadable');

      // Paused after replicate, then resumed by a new process: the values were never stored, so the
      // second execution reads the Secrets again (one GET each per execution).
      const secretReads = (): number =>
        pair.source.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/shop/secrets/shop-db')
          .length;
      const readsBefore = secretReads();
      const first = await step(['run', '-f', file, '--until', 'replicate', '-o', 'json']);
      expect(JSON.parse(first.stdout)).toMatchObject({ state: 'paused', stage: 'replicate' });
      expect(secretReads()).toBe(readsBefore + 1);
      const run = await step(['run', '-f', file, '-o', 'json']);
      const outcome = JSON.parse(run.stdout) as { run: string; state: string };
      expect(outcome).toMatchObject({ run: (JSON.parse(first.stdout) as { run: string }).run, state: 'succeeded' });
      expect(secretReads()).toBe(readsBefore + 2);
      // The data went across with the credentials from the Secrets.
      expect(
        (await target.query<{ n: number }>('select count(*)::int as n from public.orders', [], 'shop')).rows[0]?.n,
      ).toBe(3000);
      expect(pair.target.read('apps/v1', 'Deployment', 'web', 'shop')).toBeDefined();
      // handoff read each Secret with a GET of the Secret, and nothing else about Secrets named shop-db.
      expect(
        pair.source.requests.filter((r) => r.path.includes('/secrets/shop-db')).every((r) => r.method === 'GET'),
      ).toBe(true);
      expect(
        pair.source.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/shop/secrets/shop-db'),
      ).toBe(true);

      await step(['status', outcome.run, '-o', 'json']);
      await step(['audit', 'verify', '-o', 'json']);
      const md = await step(['report', outcome.run, '--format', 'md', '-o', 'json']);
      expect(fs.existsSync(String((JSON.parse(md.stdout) as { report: string }).report))).toBe(true);

      const files = filesUnder(stateDir);
      expect(files.some((f) => f.endsWith('.sqlite') || f.endsWith('.db'))).toBe(true);
      expect(files.some((f) => f.endsWith('.html'))).toBe(true);
      expectNoPassword([stateDir], outputs);
      // The search is not blind: the URL the target's Secret holds is found in the Secret's own data.
      const held = JSON.stringify(pair.target.read('v1', 'Secret', 'shop-db', 'credentials')?.data);
      expect(findLeaks({ 'target password': target.password }, [['the Secret', Buffer.from(held)]])).toHaveLength(1);
    },
  );
});

describe('the Kubernetes platform reads Secret keys (createKubernetesSecretReader against the API test server)', () => {
  it('decodes a key (one trailing newline trimmed) and registers it with the redactor as it is read', async () => {
    pair.source.seed([secret('tokens', { token: 'tok-Zq83hP2x\n', blank: '\n' })]);
    const redactor = createRedactor();
    const reader = createKubernetesSecretReader({}, { redactor });
    const at = { context: 'eks', namespace: 'shop', name: 'tokens', kubeconfig: pair.kubeconfig };
    expect(await reader.read({ ...at, key: 'token' })).toEqual({ value: 'tok-Zq83hP2x' });
    expect(redactor.redact('Bearer tok-Zq83hP2x')).toBe('Bearer [REDACTED]');
    expect(await reader.read({ ...at, key: 'blank' })).toEqual({
      reason: 'empty',
      message: 'the key "blank" of the Secret is empty',
    });
  });

  it('says why a key cannot be read: not found, key missing, forbidden, and a context that does not exist', async () => {
    const reader = createKubernetesSecretReader({}, { redactor: createRedactor() });
    const at = { context: 'gke', namespace: 'credentials', kubeconfig: pair.kubeconfig };
    expect(await reader.read({ ...at, name: 'nope', key: 'url' })).toMatchObject({
      reason: 'not-found',
      message: expect.stringContaining('secrets "nope" not found') as unknown,
    });
    expect(await reader.read({ ...at, name: 'shop-db', key: 'user' })).toMatchObject({
      reason: 'key-missing',
      message: 'key missing: the Secret has no key "user" (its keys: url)',
    });
    const undeny = pair.target.authorizer.deny({ verb: 'get', resource: 'secrets', namespace: 'credentials' });
    try {
      expect(await reader.read({ ...at, name: 'shop-db', key: 'url' })).toMatchObject({
        reason: 'forbidden',
        message: expect.stringContaining('cannot get resource "secrets"') as unknown,
      });
    } finally {
      undeny();
    }
    expect(await reader.read({ ...at, context: 'aks', name: 'shop-db', key: 'url' })).toMatchObject({
      reason: 'unreachable',
      message: expect.stringContaining('kubeconfig context "aks" does not exist') as unknown,
    });
  });

  it('refuses Secret data that is not base64 on write, as the API server does', () => {
    expect(() =>
      pair.source.seed([
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'bad', namespace: 'shop' },
          data: { url: 'not base64!' },
        },
      ]),
    ).toThrow(/Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3/);
  });
});
