/**
 * Every query of the demo service is served by an index at a million orders: EXPLAIN (never
 * ANALYZE) of each text the service runs (`DEMO_QUERIES`), with its sample parameters and as the
 * generic plan a prepared statement settles on, against tables the planner knows are large.
 * Fails on a sequential scan of a large table and on sorting many rows.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_QUERIES, READ_QUERIES } from '../../src/demo/service/queries.js';
import { migrate, seed } from '../../src/demo/service/schema.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const ORDERS = 1_000_000;
/** A table the planner believes holds at least this many rows is large. */
const LARGE = 10_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Plan Rows'?: number;
  'Parallel Aware'?: boolean;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('demo service queries at a million orders', () => {
  let server: TestPostgres;
  let admin: pg.Client;
  let sizes: Map<string, number>;
  let seeded: Array<{ relname: string; visible: number; behind: string }>;

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('shop');
    await server.query(`create role demo_app login password 'app-pw-123'`);
    admin = new pg.Client({ connectionString: server.url('shop') });
    await admin.connect();
    await migrate(admin, 'demo_app');
    await seed(admin, { accounts: 50, orders: ORDERS });
    seeded = (
      await admin.query<{ relname: string; visible: number; behind: string }>(
        `select c.relname, c.relallvisible::float8 / greatest(c.relpages, 1) as visible,
                pg_wal_lsn_diff(pg_current_wal_insert_lsn(), (pg_control_checkpoint()).redo_lsn)::text as behind
           from pg_class c where c.relname in ('orders', 'order_events') order by 1`,
      )
    ).rows;
    await admin.query(
      `insert into transfers (request_id, from_id, to_id, amount)
       select gen_random_uuid(), 1 + i % 50, 1 + (i + 1) % 50, 1 from generate_series(1, 200000) as i`,
    );
    await admin.query('analyze');
    const rows = await admin.query<{ relname: string; n: number }>(
      `select relname, reltuples::float8 as n from pg_class where relname in ('accounts', 'orders', 'order_events', 'transfers')`,
    );
    sizes = new Map(rows.rows.map((r) => [r.relname, Number(r.n)]));
  }, 300_000);

  afterAll(async () => {
    await admin?.end();
    await server?.close();
  });

  it('the seed leaves the database as a production one is: vacuumed and checkpointed', () => {
    // Every page all-visible, and the last checkpoint after the bulk load (a few records behind, not ~1 GB).
    expect(seeded.map((r) => r.relname)).toEqual(['order_events', 'orders']);
    for (const row of seeded) {
      expect(row.visible).toBeGreaterThan(0.99);
      expect(Number(row.behind)).toBeLessThan(1 << 20);
    }
  });

  it('the planner sees the large tables as large', () => {
    expect(sizes.get('orders')).toBeGreaterThanOrEqual(ORDERS * 0.9);
    expect(sizes.get('order_events')).toBeGreaterThanOrEqual(ORDERS * 1.8);
    expect(sizes.get('transfers')).toBeGreaterThanOrEqual(LARGE);
  });

  const problems = (plan: PlanNode): string[] =>
    nodes(plan).flatMap((n) => {
      const out: string[] = [];
      const size = n['Relation Name'] ? (sizes.get(n['Relation Name']) ?? 0) : 0;
      if (n['Node Type'] === 'Seq Scan' && size >= LARGE)
        out.push(`${n['Parallel Aware'] ? 'parallel ' : ''}sequential scan of ${n['Relation Name']} (${size} rows)`);
      if (n['Node Type'] === 'Sort' && (n['Plan Rows'] ?? 0) > 1000) out.push(`sort of ${n['Plan Rows']} rows`);
      return out;
    });

  for (const [key, query] of Object.entries(DEMO_QUERIES)) {
    it(`${key} is served by an index (custom and generic plans)`, async () => {
      const custom = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `explain (format json) ${query.text}`,
        query.sample,
      );
      const generic = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `explain (format json, generic_plan) ${query.text}`,
      );
      for (const [kind, result] of [
        ['custom', custom],
        ['generic', generic],
      ] as const) {
        const plan = result.rows[0]?.['QUERY PLAN'][0]?.Plan;
        expect(plan, `${key} ${kind}: no plan`).toBeDefined();
        expect(problems(plan as PlanNode), `${key} ${kind} plan`).toEqual([]);
      }
    });
  }

  it('the check finds the scan the old recent-orders read made (ordered by the text form of the id)', async () => {
    const old = `select id::text, client_id from orders where client_id = $1 order by id desc limit $2`;
    await admin.query('drop index orders_client_id_id');
    try {
      const result = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`explain (format json) ${old}`, [
        'seed-7',
        5,
      ]);
      expect(problems(result.rows[0]?.['QUERY PLAN'][0]?.Plan as PlanNode).length).toBeGreaterThan(0);
    } finally {
      await migrate(admin, 'demo_app');
    }
  }, 120_000);

  it('READ_QUERIES are exactly the reads; every statement plans for the warm-up, a write refused only after planning where writes are refused', async () => {
    // A write fails in a read-only transaction (25006); a read does not.
    const writes: string[] = [];
    for (const query of Object.values(DEMO_QUERIES)) {
      await admin.query('begin read only');
      try {
        await admin.query(query.text, query.sample);
      } catch (error) {
        expect((error as { code?: string }).code, query.name).toBe('25006');
        writes.push(query.name);
      } finally {
        await admin.query('rollback');
      }
    }
    expect(writes.sort()).toEqual(
      ['demo_insert_client_event', 'demo_insert_event', 'demo_insert_order', 'demo_transfer'].sort(),
    );
    // The warm-up runs the reads (with their sample parameters) and only plans the writes.
    expect(READ_QUERIES.map((q) => q.name).sort()).toEqual(
      Object.values(DEMO_QUERIES)
        .map((q) => q.name)
        .filter((name) => !writes.includes(name))
        .sort(),
    );
    // The warm-up's plan: made without running anything; on a fenced site it is refused only after.
    const app = new pg.Client({ connectionString: server.url('shop').replace(/\/\/[^@]*@/, '//demo_app:app-pw-123@') });
    await app.connect();
    try {
      for (const query of Object.values(DEMO_QUERIES)) await app.query(`explain (generic_plan) ${query.text}`);
      await admin.query('revoke insert, update, delete on all tables in schema public from demo_app');
      for (const query of Object.values(DEMO_QUERIES)) {
        const refused = await app.query(`explain (generic_plan) ${query.text}`).then(
          () => null,
          (error: { code?: string }) => error.code,
        );
        expect(refused, query.name).toBe(writes.includes(query.name) ? '42501' : null);
      }
    } finally {
      await app.end();
      await migrate(admin, 'demo_app');
    }
  }, 60_000);
});
