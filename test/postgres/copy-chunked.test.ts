/**
 * The chunked initial copy (`copy.method: snapshot-chunks`, the default; issue 11): tables copied in
 * primary-key chunks under the snapshot exported with the subscription's slot, then the
 * subscription made on that slot without a copy. Writes made on the source during the copy arrive
 * through the slot; a copy aborted half-way and run again starts over and ends identical, with no
 * slot left but the subscription's; a PostgreSQL 15 source works the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_MAX_CHUNK_ROWS } from '../../src/data/postgres/copy/chunked-copy.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { parseTableName } from '../../src/data/postgres/connect.js';
import { verifyTables } from '../../src/data/postgres/verify/index.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { leftovers, appUrl } from './inspect.js';
import { objectNames } from '../../src/data/postgres/names.js';
import { makeHarness, runSteps, undoSteps } from './step-harness.js';
import { APP_PASSWORD, SHOP_GRANTS, SHOP_SCHEMA, startWorkload } from './workload.js';

const ORDERS = 40_000;
const TABLES = ['public.orders', 'public.items', 'public.counters'];
let source: TestPostgres;
let target: TestPostgres;
let source15: TestPostgres;

async function seed(server: TestPostgres, db: string, orders: number): Promise<void> {
  await server.query(
    `insert into public.orders (token, customer, amount, note)
       select gen_random_uuid(), 'c' || (g % 97), g * 1.25, jsonb_build_object('g', g) from generate_series(1, ${orders}) g;
     insert into public.items select o, l, 'sku-' || o || '-' || l, l from generate_series(1, ${orders}) o, generate_series(1, 3) l;
     insert into public.counters select 'k' || g, g from generate_series(1, 500) g;
     analyze;`,
    [],
    db,
  );
}

async function prepare(server: TestPostgres, db: string): Promise<void> {
  await server.createDatabase(db);
  await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], db);
}

beforeAll(async () => {
  [source, target, source15] = await startTestPostgresAll([{}, {}, { version: 15 }]);
  for (const server of [source, target, source15])
    await server.query(`create role app login password '${APP_PASSWORD}'`);
  for (const db of ['live', 'again', 'old', 'backlog']) {
    await prepare(target, db);
    await prepare(db === 'old' ? source15 : source, db);
    await seed(db === 'old' ? source15 : source, db, ORDERS);
  }
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.close(), target?.close(), source15?.close()]);
});

async function identical(from: TestPostgres, db: string): Promise<boolean> {
  const report = await verifyTables({
    source: from.url(db),
    target: target.url(db),
    tables: TABLES.map((t) => parseTableName(t)),
    chunkRows: 5000,
  });
  return report.identical;
}

async function slots(server: TestPostgres, db: string): Promise<string[]> {
  const r = await server.query<{ s: string }>(
    `select slot_name as s from pg_replication_slots where database = $1 order by 1`,
    [db],
    db,
  );
  return r.rows.map((row) => row.s);
}

async function until(what: string, condition: () => Promise<boolean> | boolean, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const copyResult = (results: Record<string, unknown>): Record<string, unknown> =>
  Object.entries(results).find(([name]) => name.endsWith('initial-copy'))?.[1] as Record<string, unknown>;

const copiedRows = (events: HandoffEvent[]): number[] =>
  events
    .filter((e) => e.type === 'pg-copy-progress')
    .map((e) => (e.data as { tables: Array<{ rowsCopied: number | null }> }).tables)
    .map((tables) => tables.reduce((sum, t) => sum + (t.rowsCopied ?? 0), 0));

describe('chunked initial copy under the slot snapshot', () => {
  it('carries writes made on the source during the copy through the slot: source = target', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const { ctx, bus, events } = makeHarness({
      runId: 'chunklive',
      database: 'live',
      sourceUrl: source.url('live'),
      targetUrl: target.url('live'),
    });
    const entry = ctx.plan.spec.data[0]!;
    const workload = startWorkload(
      { source: appUrl(source, 'live'), target: appUrl(target, 'live') },
      {
        maxOps: 100_000,
        maxMs: 120_000,
      },
    );
    // Writes acknowledged between the slot's snapshot and the end of the copy: not in the copy, only in the slot.
    let atSnapshot = -1;
    let atCopied = -1;
    bus.on((event) => {
      if (event.type === 'pg-replication-changed' && (event.data as { what: string }).what === 'slot')
        atSnapshot = workload.acks.length;
      if (event.type === 'pg-copy-progress' && (event.data as { ready: boolean }).ready)
        atCopied = workload.acks.length;
    });
    let results: Record<string, unknown>;
    try {
      await workload.waitForAcks(20, 30_000);
      results = await runSteps(ctx, plane.replicationSteps(entry));
      await workload.waitForAcks(20, 30_000);
    } finally {
      await workload.stop();
    }
    expect(workload.unexpected).toEqual([]);
    expect(atSnapshot).toBeGreaterThan(0);
    expect(atCopied - atSnapshot).toBeGreaterThan(0);
    const copy = copyResult(results);
    expect(copy).toMatchObject({ method: 'snapshot-chunks', tables: 3, restarted: false });
    // items (120,000 rows) took several chunks of at most COPY_MAX_CHUNK_ROWS
    expect(copy.chunks as number).toBeGreaterThanOrEqual(2 + Math.ceil((ORDERS * 3) / COPY_MAX_CHUNK_ROWS));
    expect(copy.rows as number).toBeGreaterThanOrEqual(ORDERS * 4 + 500);
    // Progress in rows per table, the last one complete.
    const progress = copiedRows(events);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(copy.rows);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    await until('the target caught up', () => identical(source, 'live'), 60_000);
    // One slot, the subscription's, made by the copy; no table-sync slot.
    const subscription = await target.query<{ slot: string }>(
      `select subslotname as slot from pg_subscription`,
      [],
      'live',
    );
    expect(await slots(source, 'live')).toEqual([subscription.rows[0]?.slot]);
    await undoSteps(ctx, plane.replicationSteps(entry));
    expect(await leftovers(source, 'live')).toEqual([]);
    expect(await leftovers(target, 'live')).toEqual([]);
  }, 180_000);

  it('applies the backlog of writes made during the copy before dirty tracking starts: none of it is recorded', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const { ctx } = makeHarness({
      runId: 'chunkbacklog',
      database: 'backlog',
      sourceUrl: source.url('backlog'),
      targetUrl: target.url('backlog'),
    });
    const steps = plane.replicationSteps(ctx.plan.spec.data[0]!);
    const copied = steps.findIndex((s) => s.name.endsWith('initial-copy')) + 1;
    await runSteps(ctx, steps.slice(0, copied));
    // A backlog that stays in the slot until it is applied: the subscription stopped (it is made
    // disabled; build-indexes applies the backlog first), rows written.
    const subscription = (
      await target.query<{ name: string }>(`select subname as name from pg_subscription`, [], 'backlog')
    ).rows[0]!.name;
    await target.query(`alter subscription "${subscription}" disable`, [], 'backlog');
    await until(
      'the apply worker stopped',
      async () =>
        (await target.query(`select 1 from pg_stat_subscription where pid is not null`, [], 'backlog')).rowCount === 0,
      30_000,
    );
    await source.query(
      `insert into public.orders (token, customer, amount) select gen_random_uuid(), 'backlog', g from generate_series(1, 300) g`,
      [],
      'backlog',
    );
    // The rest of the stage in its own order (enabling it again before the catch-up step changes nothing).
    for (const step of steps.slice(copied)) {
      if (step.name.endsWith('catch-up'))
        await target.query(`alter subscription "${subscription}" enable`, [], 'backlog');
      await runSteps(ctx, [step]);
    }
    const applied = await target.query<{ n: number }>(
      `select count(*)::int as n from public.orders where customer = 'backlog'`,
      [],
      'backlog',
    );
    expect(applied.rows[0]?.n).toBe(300);
    const dirty = `${objectNames('chunkbacklog', 'backlog').dirty}`;
    expect(
      (await target.query<{ n: number }>(`select count(*)::int as n from ${dirty}`, [], 'backlog')).rows[0]?.n,
    ).toBe(0);
    // Recording is on from here: a write replicated now is recorded.
    await source.query(
      `insert into public.orders (token, customer, amount) values (gen_random_uuid(), 'later', 1)`,
      [],
      'backlog',
    );
    await until(
      'the later write recorded',
      async () =>
        ((await target.query<{ n: number }>(`select count(*)::int as n from ${dirty}`, [], 'backlog')).rows[0]?.n ??
          0) > 0,
      30_000,
    );
    await undoSteps(ctx, steps);
    expect(await leftovers(source, 'backlog')).toEqual([]);
    expect(await leftovers(target, 'backlog')).toEqual([]);
  }, 180_000);

  it('starts over when the copy step is aborted half-way and run again: identical, no leftover slot', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const { ctx, bus, events } = makeHarness({
      runId: 'chunkagain',
      database: 'again',
      sourceUrl: source.url('again'),
      targetUrl: target.url('again'),
    });
    const entry = ctx.plan.spec.data[0]!;
    const abort = new AbortController();
    bus.on((event) => {
      if (event.type === 'pg-copy-progress' && copiedRows([event])[0]! >= 10_000) abort.abort(new Error('killed'));
    });
    await expect(runSteps({ ...ctx, signal: abort.signal }, plane.replicationSteps(entry))).rejects.toThrow();
    const partial = await target.query<{ n: string }>(`select count(*)::text as n from public.items`, [], 'again');
    const before = await target.query<{ n: string }>(`select count(*)::text as n from public.orders`, [], 'again');
    expect(Number(before.rows[0]?.n) + Number(partial.rows[0]?.n)).toBeGreaterThan(0); // rows were committed
    // The slot the aborted attempt made is still there; the replay drops it and starts over.
    expect((await slots(source, 'again')).length).toBe(1);
    const results = await runSteps(ctx, plane.replicationSteps(entry));
    expect(copyResult(results)).toMatchObject({ restarted: true, tables: 3 });
    const restarted = events.filter((e) => e.type === 'pg-copy-restarted');
    expect(restarted).toHaveLength(1);
    expect(restarted[0]?.data).toMatchObject({ database: 'again', truncated: TABLES.slice().sort() });
    expect(await identical(source, 'again')).toBe(true);
    const subscription = await target.query<{ slot: string }>(
      `select subslotname as slot from pg_subscription`,
      [],
      'again',
    );
    expect(await slots(source, 'again')).toEqual([subscription.rows[0]?.slot]);
    await undoSteps(ctx, plane.replicationSteps(entry));
    expect(await leftovers(source, 'again')).toEqual([]);
  }, 180_000);

  it('refuses a target table that already holds rows before copying anything, and undo leaves nothing', async () => {
    await prepare(source, 'busy');
    await prepare(target, 'busy');
    await seed(source, 'busy', 100);
    await target.query(`insert into public.counters values ('there before', 1)`, [], 'busy');
    const plane = createPostgresDataPlane({ copyTimeoutMs: 60_000, markerTimeoutMs: 30_000 });
    const { ctx } = makeHarness({
      runId: 'chunkbusy',
      database: 'busy',
      sourceUrl: source.url('busy'),
      targetUrl: target.url('busy'),
    });
    const steps = plane.replicationSteps(ctx.plan.spec.data[0]!);
    await expect(runSteps(ctx, steps)).rejects.toThrow(
      /target table public\.counters in busy already holds rows.*preSeeded/,
    );
    expect(await slots(source, 'busy')).toEqual([]);
    const rows = await target.query<{ n: string }>(`select count(*)::text as n from public.orders`, [], 'busy');
    expect(rows.rows[0]?.n).toBe('0');
    await undoSteps(ctx, steps);
    expect(await leftovers(source, 'busy')).toEqual([]);
    const kept = await target.query<{ name: string }>(`select name from public.counters`, [], 'busy');
    expect(kept.rows).toEqual([{ name: 'there before' }]);
  }, 60_000);

  it('copies from a PostgreSQL 15 source the same way', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const { ctx } = makeHarness({
      runId: 'chunkold',
      database: 'old',
      sourceUrl: source15.url('old'),
      targetUrl: target.url('old'),
    });
    const entry = ctx.plan.spec.data[0]!;
    const results = await runSteps(ctx, plane.replicationSteps(entry));
    expect(copyResult(results)).toMatchObject({ method: 'snapshot-chunks', rows: ORDERS * 4 + 500 });
    await source15.query(`update public.counters set value = value + 1 where name = 'k1'`, [], 'old');
    await until('the change after the copy arrived', () => identical(source15, 'old'), 30_000);
    await undoSteps(ctx, plane.replicationSteps(entry));
    expect(await leftovers(source15, 'old')).toEqual([]);
  }, 180_000);
});
