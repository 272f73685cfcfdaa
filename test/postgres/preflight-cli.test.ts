import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

let source: TestPostgres;
let target: TestPostgres;

const schema = `create table public.orders (id bigint generated always as identity primary key, customer text not null);`;

/** Everything a migration could leave behind on a server, to prove bad input changed nothing. */
async function footprint(server: TestPostgres): Promise<string> {
  const r = await server.query<{ f: string }>(
    `select concat_ws('|',
       (select count(*) from pg_publication), (select count(*) from pg_replication_slots),
       (select count(*) from pg_subscription), (select count(*) from pg_namespace where nspname = 'handoff'),
       (select string_agg(relname || relacl::text, ',' order by relname) from pg_class where relnamespace = 'public'::regnamespace)) as f`,
    [],
    'app',
  );
  return r.rows[0]?.f ?? '';
}

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.createDatabase('app');
    await server.query(schema, [], 'app');
  }
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

describe('handoff preflight (CLI)', () => {
  it('prints one JSON document and exits 0 for a clean pair', async () => {
    const r = await runCli(['preflight', '--source-env', 'SRC', '--target-env', 'TGT', '-o', 'json'], {
      env: { SRC: source.url('app'), TGT: target.url('app') },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      findings: Array<{ id: string }>;
      estimate: { totalRows: number };
    };
    expect(doc.ok).toBe(true);
    expect(doc.findings.some((f) => f.id === 'pg.version')).toBe(true);
    expect(doc.estimate.totalRows).toBe(0);
    expect(r.stdout).not.toContain(source.password);
  });

  it('exits 1 when a blocker is found', async () => {
    await target.query(`insert into public.orders (customer) values ('x')`, [], 'app');
    try {
      const r = await runCli(['preflight', '--source', source.url('app'), '--target', target.url('app'), '-o', 'json']);
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ id: string; severity: string }> };
      expect(doc.ok).toBe(false);
      expect(doc.findings).toContainEqual(expect.objectContaining({ id: 'pg.target-not-empty', severity: 'blocker' }));
      expect(r.stdout + r.stderr).not.toContain(source.password);
      expect(r.stdout + r.stderr).not.toContain(target.password);
    } finally {
      await target.query(`truncate public.orders`, [], 'app');
    }
  });

  const badInput: Array<[string, () => string[], RegExp]> = [
    [
      'a URL that is not a URL',
      () => ['--source', 'not a url', '--target', target.url('app')],
      /--source|source: not a URL/,
    ],
    [
      'a URL with another scheme',
      () => ['--source', 'mysql://u:p@127.0.0.1/app', '--target', target.url('app')],
      /not postgresql/,
    ],
    [
      'a wrong password',
      () => [
        '--source',
        source.url('app').replace(encodeURIComponent(source.password), 'WrongPassw0rd'),
        '--target',
        target.url('app'),
      ],
      /authentication failed/,
    ],
    [
      'a database that does not exist',
      () => ['--source', source.url('nope'), '--target', target.url('app')],
      /database "nope" does not exist/,
    ],
    [
      'the same database as source and target',
      () => ['--source', source.url('app'), '--target', source.url('app')],
      /--source and --target name the same database/,
    ],
    [
      'a table that does not exist',
      () => ['--source', source.url('app'), '--target', target.url('app'), '--table', 'public.missing'],
      /public\.missing does not exist on the source/,
    ],
    [
      'a table name that tries SQL injection',
      () => [
        '--source',
        source.url('app'),
        '--target',
        target.url('app'),
        '--table',
        `public.orders; drop table public.orders; --`,
      ],
      /is not a table name/,
    ],
    [
      'a quoted injection attempt',
      () => [
        '--source',
        source.url('app'),
        '--target',
        target.url('app'),
        '--table',
        `"public"."orders"" ; drop table x; --"`,
      ],
      /does not exist on the source/,
    ],
  ];
  for (const [what, args, message] of badInput) {
    it(`exits 2 for ${what}, without the password and without changing anything`, async () => {
      const before = await Promise.all([footprint(source), footprint(target)]);
      const r = await runCli(['preflight', ...args(), '-o', 'json']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      for (const secret of [source.password, target.password, 'WrongPassw0rd']) {
        expect(r.stdout).not.toContain(secret);
        expect(r.stderr).not.toContain(secret);
      }
      expect(await Promise.all([footprint(source), footprint(target)])).toEqual(before);
    });
  }

  it('checks every database of a plan file (-f), naming the database in each subject', async () => {
    const tmp = makeTempDir('handoff-preflight-');
    try {
      const plan = [
        'apiVersion: handoff.dev/v1alpha1',
        'kind: Migration',
        'metadata: { name: shop-move }',
        'spec:',
        '  source: { platform: { kind: local }, databases: { app: { url: { fromEnv: SOURCE_APP_DB } } } }',
        '  target: { platform: { kind: local }, databases: { app: { url: { fromEnv: TARGET_APP_DB } } } }',
        '  data:',
        '    - { database: app, tables: ["public.orders"] }',
      ].join('\n');
      const file = path.join(tmp.dir, 'plan.yaml');
      fs.writeFileSync(file, `${plan}\n`);
      const env = { SOURCE_APP_DB: source.url('app'), TARGET_APP_DB: target.url('app') };
      const ok = await runCli(['preflight', '-f', file, '-o', 'json'], { env });
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      const doc = JSON.parse(ok.stdout) as {
        ok: boolean;
        findings: Array<{ id: string; subject: string }>;
        estimate: { tables: Array<{ table: string }> };
      };
      expect(doc.ok).toBe(true);
      expect(doc.findings.find((f) => f.id === 'pg.sequence')?.subject).toBe('app: public.orders_id_seq');
      expect(doc.estimate.tables.map((t) => t.table)).toEqual(['app: public.orders']);

      await target.query(`insert into public.orders (customer) values ('x')`, [], 'app');
      try {
        const blocked = await runCli(['preflight', '-f', file, '-o', 'json'], { env });
        expect(blocked.code).toBe(1);
        expect(JSON.parse(blocked.stdout)).toMatchObject({ ok: false });
      } finally {
        await target.query(`truncate public.orders`, [], 'app');
      }
      const missing = await runCli(['preflight', '-f', file], { env: { SOURCE_APP_DB: source.url('app') } });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/TARGET_APP_DB/);
      expect(missing.stderr).not.toContain(source.password);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses a missing URL as a usage error', async () => {
    const r = await runCli(['preflight', '--target', 'postgresql://u@127.0.0.1/app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--source URL \(or --source-env NAME\) is required/);
  });
});
