/**
 * The divergence test of issue 3: rows deleted, changed (NULL to a value, a change inside jsonb)
 * and added on the target are reported with their exact keys, for single and composite keys,
 * through the CLI; `--repair` rewrites them (triggers kept from firing) and a second verify
 * reports identical.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repair } from '../../src/data/postgres/verify/repair.js';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import { runCli } from '../support/cli.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const schema = `
  create table accounts (id int primary key, owner text not null, balance numeric, meta jsonb, closed_at timestamptz);
  create table order_items (order_id int, sku text, qty int, note text, primary key (order_id, sku));
  create table audit_log (at timestamptz, line text);`;

const data = `
  insert into accounts
  select g, 'owner ' || g, g * 10.5, jsonb_build_object('prefs', jsonb_build_object('theme', 'light', 'lang', 'en'), 'n', g), null
    from generate_series(1, 2000) g;
  insert into order_items
  select g / 3, 'sku-' || chr(97 + g % 3), g % 7, case when g % 2 = 0 then 'gift' end from generate_series(3, 1502) g;
  insert into audit_log select '2024-01-01'::timestamptz + g * interval '1 hour', 'line ' || g from generate_series(1, 50) g;`;

/** A trigger on the target that refuses every write: repair must not fire it. */
const tripwire = `
  create function refuse() returns trigger language plpgsql as $$ begin raise exception 'trigger fired'; end $$;
  create trigger refuse_accounts before insert or update or delete on accounts for each row execute function refuse();
  create trigger refuse_items before insert or update or delete on order_items for each row execute function refuse();`;

const drift = `
  alter table accounts disable trigger refuse_accounts;
  alter table order_items disable trigger refuse_items;
  delete from accounts where id in (17, 1000);
  update accounts set closed_at = '2025-02-03 04:05:06.789+00' where id = 42;
  update accounts set meta = jsonb_set(meta, '{prefs,theme}', '"dark"') where id = 43;
  update accounts set owner = 'someone else' where id = 1999;
  insert into accounts values (5001, 'new', 1, null, null), (5002, 'new', 2, '{}', now());
  delete from order_items where (order_id, sku) = (7, 'sku-b');
  update order_items set note = 'x' where (order_id, sku) = (12, 'sku-a');
  insert into order_items values (9999, 'new', 1, null);
  alter table accounts enable trigger refuse_accounts;
  alter table order_items enable trigger refuse_items;`;

const tableSchema = z.object({
  table: z.string(),
  sourceRows: z.number(),
  targetRows: z.number(),
  chunks: z.number(),
  mismatchedChunks: z.number(),
  missing: z.array(z.array(z.string())),
  extra: z.array(z.array(z.string())),
  changed: z.array(z.array(z.string())),
  changedColumns: z.array(z.object({ key: z.array(z.string()), columns: z.array(z.string()) })),
});
const outputSchema = z.object({
  identical: z.boolean(),
  rowsCompared: z.number(),
  elapsedMs: z.number(),
  tables: z.array(tableSchema),
  schemaDifferences: z.array(z.object({ table: z.string(), kind: z.string(), message: z.string() })),
  repaired: z
    .object({
      identicalAfter: z.boolean(),
      tables: z.array(
        z.object({
          table: z.string(),
          deleted: z.number(),
          inserted: z.number(),
          updated: z.number(),
          triggersSuppressed: z.boolean(),
          keys: z.object({ deleted: z.array(z.array(z.string())), upserted: z.array(z.array(z.string())) }),
        }),
      ),
      skipped: z.array(z.object({ table: z.string(), reason: z.string() })),
    })
    .optional(),
});

describe('handoff verify finds and repairs divergent rows', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startTestPostgres({ settings: { track_commit_timestamp: 'on' } });
    await server.createDatabase('src');
    await server.createDatabase('dst');
    await server.query(schema + data, [], 'src');
    await server.query(schema + data + tripwire + drift, [], 'dst');
  });

  afterAll(async () => {
    await server?.close();
  });

  const verify = (...extra: string[]) =>
    runCli(
      [
        'verify',
        '--source',
        server.url('src'),
        '--target',
        server.url('dst'),
        '--chunk-rows',
        '100',
        '-o',
        'json',
        ...extra,
      ],
      { timeoutMs: 90_000 },
    );

  it('reports each deleted, changed and added row with its exact key, single and composite', async () => {
    const result = await verify();
    expect(result.stderr).not.toContain(server.password);
    expect(result.code).toBe(1);
    const output = outputSchema.parse(JSON.parse(result.stdout));
    expect(output.identical).toBe(false);
    expect(output.schemaDifferences).toEqual([]);
    const byName = new Map(output.tables.map((table) => [table.table, table]));
    expect(byName.get('public.accounts')).toMatchObject({
      sourceRows: 2000,
      targetRows: 2000,
      missing: [['17'], ['1000']],
      extra: [['5001'], ['5002']],
      changed: [['42'], ['43'], ['1999']],
    });
    expect(byName.get('public.accounts')?.chunks).toBeGreaterThanOrEqual(19);
    expect(byName.get('public.accounts')?.changedColumns).toEqual([
      { key: ['42'], columns: ['closed_at'] },
      { key: ['43'], columns: ['meta'] },
      { key: ['1999'], columns: ['owner'] },
    ]);
    expect(byName.get('public.order_items')?.changedColumns).toEqual([{ key: ['12', 'sku-a'], columns: ['note'] }]);
    expect(byName.get('public.order_items')).toMatchObject({
      sourceRows: 1500,
      targetRows: 1500,
      missing: [['7', 'sku-b']],
      extra: [['9999', 'new']],
      changed: [['12', 'sku-a']],
    });
    expect(byName.get('public.audit_log')).toMatchObject({ sourceRows: 50, targetRows: 50, mismatchedChunks: 0 });
    expect(output.rowsCompared).toBe(3550);
  });

  it('--repair rewrites exactly those rows without firing triggers, and a second verify reports identical', async () => {
    const repaired = await verify('--repair');
    expect(repaired.code).toBe(0);
    const output = outputSchema.parse(JSON.parse(repaired.stdout));
    expect(output.identical).toBe(false); // what was found before the repair
    expect(output.repaired?.identicalAfter).toBe(true);
    expect(output.repaired?.skipped).toEqual([]);
    const byName = new Map(output.repaired?.tables.map((table) => [table.table, table]));
    expect(byName.get('public.accounts')).toEqual({
      table: 'public.accounts',
      deleted: 2,
      inserted: 2,
      updated: 3,
      triggersSuppressed: true,
      keys: { deleted: [['5001'], ['5002']], upserted: [['17'], ['42'], ['43'], ['1000'], ['1999']] },
    });
    expect(byName.get('public.order_items')).toMatchObject({
      deleted: 1,
      inserted: 1,
      updated: 1,
      triggersSuppressed: true,
    });

    const again = await verify();
    expect(again.code).toBe(0);
    const second = outputSchema.parse(JSON.parse(again.stdout));
    expect(second.identical).toBe(true);
    expect(second.tables.every((table) => table.missing.length + table.extra.length + table.changed.length === 0)).toBe(
      true,
    );
    const row = await server.query(
      `select closed_at::text as closed_at, meta->'prefs'->>'theme' as theme from accounts where id = 43`,
      [],
      'dst',
    );
    expect(row.rows[0]).toEqual({ closed_at: null, theme: 'light' });
  });

  /** Verifies the accounts table alone, library call. */
  const verifyAccounts = () =>
    verifyTables({
      source: server.url('src'),
      target: server.url('dst'),
      tables: [{ schema: 'public', name: 'accounts' }],
      chunkRows: 100,
    });

  it('marks repaired rows with the replication origin it is given, and rolls back whole when it cannot', async () => {
    await server.query(`select pg_replication_origin_create('handoff_repair_test')`, [], 'dst');
    await server.query(
      `alter table accounts disable trigger refuse_accounts; delete from accounts where id = 100; update accounts set owner = 'x' where id = 101;`,
      [],
      'dst',
    );
    const report = await verifyAccounts();
    expect(report.tables[0]).toMatchObject({ missing: [['100']], changed: [['101']] });

    await expect(
      repair(report, { source: server.url('src'), target: server.url('dst'), originName: 'no_such_origin' }),
    ).rejects.toThrow(/repair of public.accounts on the target failed and was rolled back/);
    const untouched = await server.query(`select count(*)::int as n from accounts where id = 100`, [], 'dst');
    expect(untouched.rows[0]).toEqual({ n: 0 });

    const done = await repair(report, {
      source: server.url('src'),
      target: server.url('dst'),
      originName: 'handoff_repair_test',
    });
    expect(done.tables[0]).toMatchObject({ inserted: 1, updated: 1, deleted: 0 });
    const origins = await server.query(
      `select a.id, o.roname from accounts a cross join lateral pg_xact_commit_timestamp_origin(a.xmin) x
         left join pg_replication_origin o on o.roident = x.roident where a.id in (100, 101, 102) order by a.id`,
      [],
      'dst',
    );
    expect(origins.rows).toEqual([
      { id: 100, roname: 'handoff_repair_test' },
      { id: 101, roname: 'handoff_repair_test' },
      { id: 102, roname: null },
    ]);
    const after = await verifyTables({ source: server.url('src'), target: server.url('dst') });
    expect(after.identical).toBe(true);
  });

  it('gives up on a row the live service holds locked, at its statement timeout, and changes nothing', async () => {
    await server.query(
      `alter table accounts disable trigger refuse_accounts; update accounts set owner = 'y' where id = 300;`,
      [],
      'dst',
    );
    const report = await verifyAccounts();
    expect(report.tables[0]).toMatchObject({ changed: [['300']] });
    const holder = new pg.Client({ connectionString: server.url('dst') });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select * from accounts where id = 300 for update');
      const started = Date.now();
      await expect(
        repair(report, { source: server.url('src'), target: server.url('dst'), statementTimeoutMs: 500 }),
      ).rejects.toThrow(/repair of public.accounts on the target failed and was rolled back: .*statement timeout/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
    const still = await server.query(`select owner from accounts where id = 300`, [], 'dst');
    expect(still.rows[0]).toEqual({ owner: 'y' });
    const done = await repair(report, { source: server.url('src'), target: server.url('dst') });
    expect(done.tables[0]).toMatchObject({ updated: 1 });
  });
});
