import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/findings.js';
import { parseTablePattern } from '../../src/data/postgres/catalog.js';
import { runPreflight } from '../../src/data/postgres/preflight.js';
import { urlAs } from '../../src/data/postgres/replication-role.js';
import { runCli } from '../support/cli.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

let source: TestPostgres;
let target: TestPostgres;

const schema = `
  create table public.orders (id bigint generated always as identity primary key, customer text not null);
  create table public.notes (id int primary key, body text);
  grant usage on schema public to app_group;
  grant select, insert, update on public.orders to app_group;
  grant usage on sequence public.orders_id_seq to app_group;
`;

async function preflight(): Promise<Finding[]> {
  const report = await runPreflight({
    sourceUrl: source.url('shop'),
    targetUrl: target.url('shop'),
    tables: [parseTablePattern('public.*')],
    database: 'shop',
  });
  return report.findings;
}

const accessIds = ['pg.role-missing', 'pg.grant-missing', 'pg.grant-extra', 'pg.role-differs'];
const access = (findings: Finding[]): Finding[] => findings.filter((f) => accessIds.includes(f.id));

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) await server.createDatabase('shop');
  for (const server of [source, target]) await server.query(`create role app_group nologin`);
  await source.query(
    `${schema}
     create role app_blue login in role app_group;
     create role "Reporting Team" nologin;
     grant select on public.orders, public.notes to "Reporting Team" with grant option;
     alter default privileges in schema public grant select on tables to "Reporting Team";
     set password_encryption = 'md5';
     create role legacy login password 'not-a-real-secret' in role app_group;`,
    [],
    'shop',
  );
  await target.query(
    `${schema}
     create role auditor nologin;
     grant delete on public.notes to auditor;
     revoke update on public.orders from app_group;`,
    [],
    'shop',
  );
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

describe('preflight: database roles and grants', () => {
  it('reports missing roles, missing and extra grants, default privileges and MD5 passwords, each with fix SQL', async () => {
    const findings = await preflight();
    const missing = findings.filter((f) => f.id === 'pg.role-missing');
    expect(missing.map((f) => f.subject).sort()).toEqual([
      'target: role Reporting Team',
      'target: role app_blue',
      'target: role legacy',
    ]);
    expect(missing.every((f) => f.severity === 'blocker')).toBe(true);
    expect(missing.find((f) => f.subject.includes('app_blue'))?.fix).toBe(
      'CREATE ROLE "app_blue" LOGIN; GRANT "app_group" TO "app_blue";',
    );
    const grants = findings.filter((f) => f.id === 'pg.grant-missing');
    expect(grants.map((f) => f.fix).sort()).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "public" GRANT SELECT ON TABLES TO "Reporting Team";',
      'GRANT SELECT ON TABLE "public"."notes" TO "Reporting Team" WITH GRANT OPTION;',
      'GRANT SELECT ON TABLE "public"."orders" TO "Reporting Team" WITH GRANT OPTION;',
      'GRANT UPDATE ON TABLE "public"."orders" TO "app_group";',
    ]);
    expect(grants.find((f) => f.fix?.startsWith('GRANT UPDATE'))?.severity).toBe('blocker');
    expect(grants.find((f) => f.fix?.startsWith('ALTER DEFAULT'))?.severity).toBe('warning');
    const extra = findings.filter((f) => f.id === 'pg.grant-extra');
    expect(extra.map((f) => f.fix)).toEqual(['REVOKE DELETE ON TABLE "public"."notes" FROM "auditor";']);
    const md5 = findings.filter((f) => f.id === 'pg.password-md5');
    expect(md5).toHaveLength(1);
    expect(md5[0]).toMatchObject({ severity: 'warning', subject: 'source: role legacy' });
    expect(JSON.stringify(findings)).not.toContain('not-a-real-secret');
  });

  it('the fix SQL works when run: after it, preflight finds no role or grant difference', async () => {
    const before = access(await preflight());
    // Roles first (grants name them), then grants, then revokes.
    const order = ['pg.role-missing', 'pg.grant-missing', 'pg.grant-extra', 'pg.role-differs'];
    for (const id of order) {
      for (const f of before.filter((x) => x.id === id)) await target.query(f.fix as string, [], 'shop');
    }
    const after = await preflight();
    expect(access(after)).toEqual([]);
    // The source's MD5 password is still reported: preflight never changes a site.
    expect(after.filter((f) => f.id === 'pg.password-md5')).toHaveLength(1);
  });

  it('runs in the plan-less form: handoff preflight --source-env --target-env', async () => {
    await target.query(`revoke select on public.notes from "Reporting Team"`, [], 'shop');
    const r = await runCli(['preflight', '--source-env', 'SRC', '--target-env', 'TGT', '-o', 'json'], {
      env: { SRC: source.url('shop'), TGT: target.url('shop') },
    });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { findings: Finding[] };
    const found = doc.findings.filter((f) => f.id === 'pg.grant-missing');
    expect(found.map((f) => f.fix)).toEqual([
      'GRANT SELECT ON TABLE "public"."notes" TO "Reporting Team" WITH GRANT OPTION;',
    ]);
  });

  it("reports a user that cannot create the run's replication role, and reads no password kind without pg_authid", async () => {
    for (const server of [source, target]) {
      await server.query(`create role mig login replication password 'mig-Pw-1'`);
      await server.query(`grant select on all tables in schema public to mig`, [], 'shop');
    }
    const report = await runPreflight({
      sourceUrl: urlAs(source.url('shop'), 'mig', 'mig-Pw-1'),
      targetUrl: urlAs(target.url('shop'), 'mig', 'mig-Pw-1'),
      tables: [parseTablePattern('public.*')],
    });
    const cannot = report.findings.filter((f) => f.id === 'pg.privileges' && f.message.includes('cannot create roles'));
    expect(cannot.map((f) => [f.severity, f.subject])).toEqual([
      ['blocker', 'source: role mig'],
      ['blocker', 'target: role mig'],
    ]);
    // A user that may not read pg_authid (managed services) gets no MD5 finding rather than an error.
    expect(report.findings.filter((f) => f.id === 'pg.password-md5')).toEqual([]);
  });
});
