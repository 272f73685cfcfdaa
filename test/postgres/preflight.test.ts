import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/findings.js';
import { parseTablePattern } from '../../src/data/postgres/catalog.js';
import { runPreflight } from '../../src/data/postgres/preflight.js';
import { startTestPostgres, startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

const schema = `
  create table public.orders (id bigint generated always as identity primary key, customer text not null, amount numeric(12,2));
  create table public.items (order_id bigint, line int, sku text, primary key (order_id, line));
`;

async function pair(db: string, sourceSql: string, targetSql: string): Promise<void> {
  await Promise.all([source.createDatabase(db), target.createDatabase(db)]);
  await source.query(sourceSql, [], db);
  await target.query(targetSql, [], db);
}

function find(findings: Finding[], id: string, subject?: string): Finding[] {
  return findings.filter((f) => f.id === id && (subject === undefined || f.subject.includes(subject)));
}

describe('preflight', () => {
  it('finds no blocker on a clean pair, and reports versions, sequences and a size estimate', async () => {
    await pair(
      'clean',
      `${schema} insert into public.orders (customer, amount) select 'c' || g, g from generate_series(1, 500) g; analyze;`,
      schema,
    );
    const report = await runPreflight({
      sourceUrl: source.url('clean'),
      targetUrl: target.url('clean'),
      tables: [parseTablePattern('public.*')],
    });
    expect(report.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(find(report.findings, 'pg.version')[0]?.severity).toBe('info');
    const seq = find(report.findings, 'pg.sequence', 'orders_id_seq');
    expect(seq).toHaveLength(1);
    expect(seq[0]?.severity).toBe('info');
    expect(report.estimate?.tables.map((t) => t.table).sort()).toEqual(['public.items', 'public.orders']);
    expect(report.estimate?.tables.find((t) => t.table === 'public.orders')?.rows).toBe(500);
    expect(report.estimate?.copySeconds).toBeGreaterThanOrEqual(1);
  });

  it("says the subscription stores a password (the run role's) also when the plan's URL holds none", async () => {
    await pair('nopw', schema, schema);
    const withPassword = new URL(target.url('nopw'));
    const password = decodeURIComponent(withPassword.password);
    withPassword.password = '';
    const saved = process.env.PGPASSWORD;
    // The target's password from the environment, as a password file or PGPASSWORD gives it.
    process.env.PGPASSWORD = password;
    try {
      const report = await runPreflight({
        sourceUrl: source.url('nopw'),
        targetUrl: withPassword.toString(),
        tables: [parseTablePattern('public.*')],
      });
      expect(report.ok).toBe(true);
      const found = find(report.findings, 'pg.subscription-password');
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ severity: 'info', subject: 'target: pg_subscription' });
      expect(found[0]?.message).toMatch(/the password of the run's own replication role/);
      // No way out that does not work: a password file cannot hold a password made per run.
      expect(found[0]?.remediation).not.toMatch(/password file|passfile/);
      expect(JSON.stringify(report)).not.toContain(password);
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
  });

  it('finds each table problem with the right id and severity', async () => {
    const common = `
      create extension citext;
      create table public.nokey (a int, b text);
      create table public.full_identity (a int, b text);
      alter table public.full_identity replica identity full;
      create unlogged table public.scratch (id int primary key);
      create table public.docs (id int primary key, body oid);
      create table public.gen (id int primary key, a int, twice int generated always as (a * 2) stored);
      create table public.names (id int primary key, name text);
      create materialized view public.order_totals as select 1 as x;
    `;
    await pair(
      'problems',
      `${schema} ${common}
       create table public.only_on_source (id int primary key);
       create table public.typed (id int primary key, qty int, note text);
       select lo_from_bytea(0, 'hello');`,
      `${schema} ${common.replace('create extension citext;', '').replace('twice int generated always as (a * 2) stored', 'twice int')}
       create table public.typed (id int primary key, qty bigint);
       insert into public.names values (1, 'already here');`,
    );
    const report = await runPreflight({
      sourceUrl: source.url('problems'),
      targetUrl: target.url('problems'),
      tables: [parseTablePattern('public.*')],
    });
    const f = report.findings;
    expect(report.ok).toBe(false);
    expect(find(f, 'pg.no-replica-identity', 'public.nokey')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.no-replica-identity', 'public.full_identity')).toEqual([]);
    expect(find(f, 'pg.replica-identity-full', 'public.full_identity')[0]?.severity).toBe('warning');
    expect(find(f, 'pg.unlogged-table', 'public.scratch')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.large-objects')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.large-objects')[0]?.subject).toContain('public.docs.body');
    expect(find(f, 'pg.table-missing', 'public.only_on_source')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.column-mismatch', 'public.typed.qty')[0]).toMatchObject({ severity: 'blocker' });
    expect(find(f, 'pg.column-mismatch', 'public.typed.qty')[0]?.message).toMatch(
      /integer on the source but bigint on the target/,
    );
    expect(find(f, 'pg.column-mismatch', 'public.typed.note')[0]?.message).toMatch(/missing on the target/);
    expect(find(f, 'pg.generated-column', 'public.gen.twice')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.extension-missing', 'citext')[0]?.severity).toBe('blocker');
    expect(find(f, 'pg.unreplicated-relation', 'public.order_totals')[0]?.severity).toBe('warning');
    expect(find(f, 'pg.target-not-empty', 'public.names')[0]?.severity).toBe('blocker');
    // Each finding carries a subject, a message and (for blockers) a remediation.
    for (const finding of f.filter((x) => x.severity === 'blocker'))
      expect(finding.remediation.length).toBeGreaterThan(10);
  });

  it('warns about foreign keys crossing the plan boundary and about a source no fence can act on', async () => {
    const fk = `create table public.customers (id int primary key); create table public.invoices (id int primary key, customer_id int references public.customers);`;
    await pair('fk', fk, fk);
    const report = await runPreflight({
      sourceUrl: source.url('fk'),
      targetUrl: target.url('fk'),
      tables: [parseTablePattern('public.invoices')],
    });
    expect(find(report.findings, 'pg.foreign-key-outside').map((f) => f.subject)).toEqual([
      'public.invoices → public.customers',
    ]);
    expect(find(report.findings, 'pg.foreign-key-outside')[0]?.severity).toBe('warning');
    expect(find(report.findings, 'pg.fence')[0]?.severity).toBe('warning'); // only the superuser can write
    await source.query(`create role fk_app login; grant insert on public.invoices to fk_app;`, [], 'fk');
    // The same role and grant on the target, or preflight reports them missing (pg.role-missing).
    await target.query(`create role fk_app login; grant insert on public.invoices to fk_app;`, [], 'fk');
    const granted = await runPreflight({
      sourceUrl: source.url('fk'),
      targetUrl: target.url('fk'),
      tables: [parseTablePattern('public.invoices')],
    });
    expect(find(granted.findings, 'pg.fence')).toEqual([]);
    expect(granted.ok).toBe(true);
  });

  it('makes a non-empty target a warning when the plan says it was pre-seeded', async () => {
    await pair(
      'seeded',
      `${schema} insert into public.orders (customer) values ('a');`,
      `${schema} insert into public.orders (customer) values ('a');`,
    );
    const report = await runPreflight({
      sourceUrl: source.url('seeded'),
      targetUrl: target.url('seeded'),
      tables: [parseTablePattern('public.orders')],
      preSeeded: true,
    });
    expect(find(report.findings, 'pg.target-not-empty', 'public.orders')[0]?.severity).toBe('warning');
    expect(report.ok).toBe(true);
  });

  it('reports a trigger that fires during apply on the target', async () => {
    await pair(
      'trig',
      schema,
      `${schema}
       create function public.touch() returns trigger language plpgsql as $$ begin return new; end $$;
       create trigger audit_orders before insert on public.orders for each row execute function public.touch();
       alter table public.orders enable always trigger audit_orders;`,
    );
    const report = await runPreflight({
      sourceUrl: source.url('trig'),
      targetUrl: target.url('trig'),
      tables: [parseTablePattern('public.*')],
    });
    expect(find(report.findings, 'pg.replica-trigger', 'audit_orders')[0]?.severity).toBe('warning');
  });

  it('says when a side commits asynchronously (synchronous_commit = off), as information only', async () => {
    await pair('asyncsrc', schema, schema);
    await source.query(`alter database asyncsrc set synchronous_commit = off`);
    const report = await runPreflight({
      sourceUrl: source.url('asyncsrc'),
      targetUrl: target.url('asyncsrc'),
      tables: [parseTablePattern('public.*')],
    });
    const found = find(report.findings, 'pg.async-commit');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'info', subject: 'source: synchronous_commit' });
    expect(found[0]?.message).toMatch(/synchronous_commit is off on the source/);
    expect(report.ok).toBe(true);
    // Where both sides commit synchronously there is none.
    const clean = await runPreflight({
      sourceUrl: target.url('asyncsrc'),
      targetUrl: source.url('clean'),
      tables: [parseTablePattern('public.*')],
    });
    expect(find(clean.findings, 'pg.async-commit')).toEqual([]);
  });

  it('finds wal_level = replica on the source as a blocker', async () => {
    const replicaOnly = await startTestPostgres({ settings: { wal_level: 'replica' } });
    try {
      await replicaOnly.createDatabase('app');
      await replicaOnly.query(schema, [], 'app');
      await target.createDatabase('walcheck');
      await target.query(schema, [], 'walcheck');
      const report = await runPreflight({
        sourceUrl: replicaOnly.url('app'),
        targetUrl: target.url('walcheck'),
        tables: [parseTablePattern('public.*')],
      });
      const wal = find(report.findings, 'pg.wal-level');
      expect(wal).toHaveLength(1);
      expect(wal[0]).toMatchObject({ severity: 'blocker', subject: 'source: wal_level' });
      expect(report.ok).toBe(false);
    } finally {
      await replicaOnly.close();
    }
  });

  it('reports an unreachable server as pg.connect without the password', async () => {
    const url = source.url('clean').replace(`:${source.port}/`, ':1/');
    const report = await runPreflight({
      sourceUrl: url,
      targetUrl: target.url('clean'),
      tables: [parseTablePattern('public.*')],
    });
    expect(report.ok).toBe(false);
    expect(find(report.findings, 'pg.connect', 'source')[0]?.severity).toBe('blocker');
    expect(JSON.stringify(report)).not.toContain(source.password);
  });

  it('reports a wrong password as pg.connect and as bad input', async () => {
    const url = source.url('clean').replace(encodeURIComponent(source.password), 'not-the-password');
    const report = await runPreflight({
      sourceUrl: url,
      targetUrl: target.url('clean'),
      tables: [parseTablePattern('public.*')],
    });
    expect(report.inputError?.message).toMatch(/authentication failed/);
    expect(find(report.findings, 'pg.connect', 'source')[0]?.severity).toBe('blocker');
    expect(JSON.stringify(report.findings)).not.toContain('not-the-password');
  });
});
