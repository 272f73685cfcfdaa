import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTablePattern } from '../../src/data/postgres/catalog.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { runPreflight } from '../../src/data/postgres/preflight.js';
import { urlAs } from '../../src/data/postgres/replication-role.js';
import { migration } from '../../src/plan/schema.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness } from './step-harness.js';

let source: TestPostgres;
let target: TestPostgres;

const schema = `
  create table public.orders (id bigint generated always as identity primary key, customer text not null);
  create table public.notes (id int primary key, body text);
`;
const BLUE_PASSWORD = 'blue-Secret-77';

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) await server.createDatabase('shop');
  await source.query(`create role app_group nologin; create role app_blue login password 'source-only-pw' in role app_group;
                      create role "Read Only" login`);
  await source.query(
    `${schema}
     grant usage on schema public to app_group, "Read Only";
     grant select, insert, update on public.orders to app_group;
     grant usage on sequence public.orders_id_seq to app_group;
     grant select on public.notes to "Read Only";
     alter default privileges in schema public grant select on tables to "Read Only";`,
    [],
    'shop',
  );
  await target.query(schema, [], 'shop');
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

async function accessFindings(): Promise<string[]> {
  const report = await runPreflight({
    sourceUrl: source.url('shop'),
    targetUrl: target.url('shop'),
    tables: [parseTablePattern('public.*')],
  });
  return report.findings
    .filter((f) => ['pg.role-missing', 'pg.grant-missing'].includes(f.id))
    .map((f) => `${f.id} ${f.subject}`)
    .sort();
}

async function roles(): Promise<string[]> {
  const r = await target.query<{ r: string }>(
    `select rolname as r from pg_roles where rolname in ('app_group', 'app_blue', 'Read Only') order by 1`,
  );
  return r.rows.map((row) => row.r);
}

describe('provision step for database access', () => {
  it('creates the missing roles and grants (password from its reference, never copied) and undo removes exactly them', async () => {
    await target.query(`create role preexisting nologin; grant select on public.notes to preexisting`, [], 'shop');
    const plan = migration.parse({
      apiVersion: 'handoff.dev/v1alpha1',
      kind: 'Migration',
      metadata: { name: 'access' },
      spec: {
        source: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'SRC' } } } },
        target: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'TGT' } } } },
        data: [{ database: 'shop', access: { provision: true, passwords: { app_blue: { fromEnv: 'BLUE_PW' } } } }],
      },
    });
    const entry = plan.spec.data[0]!;
    const { ctx, events } = makeHarness({
      runId: 'prov1',
      database: 'shop',
      sourceUrl: source.url('shop'),
      targetUrl: target.url('shop'),
    });
    const asked: string[] = [];
    Object.assign(ctx, { plan });
    Object.assign(ctx.secrets, {
      resolve: (_ref: unknown, where: string) => {
        asked.push(where);
        ctx.redactor.add(BLUE_PASSWORD);
        return BLUE_PASSWORD;
      },
    });
    expect(await accessFindings()).toEqual([
      'pg.grant-missing target: "public"', // USAGE for app_group
      'pg.grant-missing target: "public"', // USAGE for "Read Only"
      'pg.grant-missing target: "public"."notes"',
      'pg.grant-missing target: "public"."orders"',
      'pg.grant-missing target: "public"."orders_id_seq"',
      'pg.grant-missing target: default privileges of postgres',
      'pg.role-missing target: role Read Only',
      'pg.role-missing target: role app_blue',
      'pg.role-missing target: role app_group',
    ]);
    const step = createPostgresDataPlane().replicationSteps(entry)[0]!;
    expect(step.name).toBe('pg-shop-provision-access');
    const result = (await step.run(ctx)) as { roles: string[]; nologin: string[] };
    expect(result.roles).toEqual(['Read Only', 'app_group', 'app_blue']); // groups before their members
    expect(result.nologin).toEqual(['Read Only']);
    expect(asked).toEqual(['spec.data[0].access.passwords.app_blue']);
    expect(await accessFindings()).toEqual([]);
    // app_blue logs in with the password of its reference, and has the group's privileges.
    const blue = new pg.Client({ connectionString: urlAs(target.url('shop'), 'app_blue', BLUE_PASSWORD) });
    await blue.connect();
    try {
      await blue.query(`insert into public.orders (customer) values ('blue')`);
    } finally {
      await blue.end();
    }
    const login = await target.query<{ l: boolean }>(
      `select rolcanlogin as l from pg_roles where rolname = 'Read Only'`,
    );
    expect(login.rows[0]?.l).toBe(false);
    // Replayed after a crash: nothing more to create, the record still names everything.
    await step.run(ctx);
    expect(JSON.stringify([result, events, ctx.state.get('pg.shop.access-provisioned')])).not.toContain(BLUE_PASSWORD);

    await step.undo?.(ctx);
    expect(await roles()).toEqual([]);
    const kept = await target.query<{ ok: boolean }>(
      `select has_table_privilege('preexisting', 'public.notes', 'select') as ok`,
      [],
      'shop',
    );
    expect(kept.rows[0]?.ok).toBe(true);
    expect((await accessFindings()).length).toBe(9);
    await step.undo?.(ctx); // idempotent
  });
});
