import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../../src/demo/load/ledger.js';
import { startLoad } from '../../src/demo/load/generator.js';
import { INITIAL_BALANCE, migrate, seed } from '../../src/demo/service/schema.js';
import { startDemoService, type DemoService } from '../../src/demo/service/server.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const ACCOUNTS = 20;

describe('demo service and load generator on a real PostgreSQL', () => {
  let server: TestPostgres;
  let service: DemoService;
  let admin: pg.Client;
  let appUrl: string;

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('shop');
    await server.query(`create role demo_app login password 'app-pw-123'`);
    admin = new pg.Client({ connectionString: server.url('shop') });
    await admin.connect();
    await migrate(admin, 'demo_app');
    await migrate(admin, 'demo_app'); // idempotent
    await seed(admin, { accounts: ACCOUNTS, orders: 200 });
    appUrl = `postgresql://demo_app:app-pw-123@127.0.0.1:${server.port}/shop`;
    service = await startDemoService({ databaseUrl: appUrl, port: 0, site: 'source' });
  });

  afterAll(async () => {
    await service?.close();
    await admin?.end();
    await server?.close();
  });

  it('serves orders, transfers and events, idempotent by request id', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const requestId = crypto.randomUUID();
    const body = JSON.stringify({
      requestId,
      clientId: 'c1',
      item: 'smørbrød',
      quantity: 2,
      details: { a: [1] },
      note: null,
    });
    const first = await fetch(`${base}/orders`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(first.status).toBe(201);
    expect(first.headers.get('x-site')).toBe('source');
    const created = (await first.json()) as { id: string };
    const again = await fetch(`${base}/orders`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(created.id);
    const read = await fetch(`${base}/orders/${created.id}`);
    expect(((await read.json()) as { item: string }).item).toBe('smørbrød');
    const event = await fetch(`${base}/orders/${created.id}/events`, { method: 'POST', body: '{"kind":"shipped"}' });
    expect(((await event.json()) as { seq: number }).seq).toBe(2);
    const bad = await fetch(`${base}/orders`, { method: 'POST', body: '{"requestId":"nope"}' });
    expect(bad.status).toBe(400);
    const broke = await fetch(`${base}/transfers`, {
      method: 'POST',
      body: JSON.stringify({ requestId: crypto.randomUUID(), from: 1, to: 2, amount: 999_999 }),
    });
    expect(broke.status).toBe(409);
  });

  it('moves money once per request id, refuses overdrafts and unknown accounts, and keeps the total under contention', async () => {
    const base = `http://127.0.0.1:${service.port}`;
    const post = (body: object): Promise<Response> =>
      fetch(`${base}/transfers`, { method: 'POST', body: JSON.stringify(body) });
    const balances = async (): Promise<Map<number, bigint>> =>
      new Map(
        (
          await admin.query<{ id: number; balance: string }>('select id, balance::text as balance from accounts')
        ).rows.map((row) => [row.id, BigInt(row.balance)]),
      );
    const transfers = async (): Promise<number> =>
      Number((await admin.query<{ n: string }>('select count(*) as n from transfers')).rows[0]?.n);

    const before = await balances();
    const count = await transfers();
    const requestId = crypto.randomUUID();
    const first = await post({ requestId, from: 1, to: 2, amount: 5 });
    expect(first.status).toBe(201);
    const made = (await first.json()) as { id: string };
    expect(made.id).toMatch(/^\d+$/);
    const again = await post({ requestId, from: 1, to: 2, amount: 5 });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: made.id, duplicate: true });
    expect((await post({ requestId: crypto.randomUUID(), from: 1, to: 999, amount: 5 })).status).toBe(404);
    expect((await post({ requestId: crypto.randomUUID(), from: 3, to: 1, amount: 999_999 })).status).toBe(409);
    const after = await balances();
    expect(after.get(1)).toBe((before.get(1) ?? 0n) - 5n);
    expect(after.get(2)).toBe((before.get(2) ?? 0n) + 5n);
    expect(after.get(3)).toBe(before.get(3));
    expect(await transfers()).toBe(count + 1);

    // 60 at once among four accounts, both directions: every one lands once, none deadlocks.
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        post({ requestId: crypto.randomUUID(), from: 1 + (i % 4), to: 1 + ((i + 1 + (i % 3)) % 4), amount: 1 }),
      ),
    );
    expect(burst.map((r) => r.status)).toEqual(Array(60).fill(201));
    const end = await balances();
    const sum = (m: Map<number, bigint>): bigint => [...m.values()].reduce((a, b) => a + b, 0n);
    expect(sum(end)).toBe(sum(before));
    expect(await transfers()).toBe(count + 61);
    const recorded = await admin.query<{ id: number; net: string }>(
      `select id, coalesce((select sum(amount) from transfers where to_id = a.id), 0)
                - coalesce((select sum(amount) from transfers where from_id = a.id), 0) as net
         from accounts a where id <= 4`,
    );
    for (const row of recorded.rows) expect((end.get(row.id) ?? 0n) - BigInt(INITIAL_BALANCE)).toBe(BigInt(row.net));
  });

  it('keeps a ledger that proves every acknowledged write landed, and the bank total holds', async () => {
    const load = startLoad({
      baseUrl: `http://127.0.0.1:${service.port}`,
      rate: 150,
      accounts: ACCOUNTS,
      maxInFlight: 512,
      maxRequests: 450,
      maxDurationMs: 8000,
    });
    const stats = await load.done;
    expect(stats.total).toBeGreaterThan(300);
    expect(stats.failed).toBe(0);
    const check = await checkLedger(load.ledger, admin, ACCOUNTS);
    expect(check.acknowledged).toBeGreaterThan(50);
    expect(load.ledger.readYourWrites.checked).toBeGreaterThan(10);
    expect(check).toMatchObject({
      ok: true,
      lost: [],
      duplicated: [],
      unexpected: [],
      changed: [],
      readYourWritesViolations: 0,
    });
    expect(check.bank.preserved).toBe(true);
  });

  it('answers 503 when the database is fenced, and the ledger counts those writes as refused, not lost', async () => {
    await admin.query(
      'revoke insert, update, delete on orders, transfers, accounts, order_events, client_events from demo_app',
    );
    try {
      const load = startLoad({
        baseUrl: `http://127.0.0.1:${service.port}`,
        rate: 100,
        readShare: 0,
        accounts: ACCOUNTS,
        maxRequests: 50,
        maxDurationMs: 5000,
      });
      const stats = await load.done;
      expect(stats.failed).toBe(stats.total);
      expect(stats.failures.every((f) => f.status === 503)).toBe(true);
      const check = await checkLedger(load.ledger, admin, ACCOUNTS);
      expect(check.lost).toEqual([]);
      expect(check.acknowledged).toBe(0);
    } finally {
      await admin.query(
        'grant insert, update, delete on orders, transfers, accounts, order_events, client_events to demo_app',
      );
    }
  });

  it('finds a lost write, an unexpected row and a broken bank total', async () => {
    const load = startLoad({
      baseUrl: `http://127.0.0.1:${service.port}`,
      rate: 100,
      readShare: 0,
      accounts: ACCOUNTS,
      maxRequests: 60,
      maxDurationMs: 5000,
    });
    await load.done;
    const acked = [...load.ledger.orders.values()].find((o) => o.outcome === 'ok');
    expect(acked).toBeDefined();
    await admin.query('delete from order_events where order_id = $1', [acked?.write.id]);
    await admin.query('delete from orders where request_id = $1', [acked?.write.requestId]);
    await admin.query(
      `insert into orders (request_id, client_id, item, quantity) values (gen_random_uuid(), $1, 'x', 1)`,
      [load.ledger.clients[0]],
    );
    await admin.query('update accounts set balance = balance + 1 where id = 1');
    const check = await checkLedger(load.ledger, admin, ACCOUNTS);
    expect(check.ok).toBe(false);
    expect(check.lost).toEqual([acked?.write.requestId]);
    expect(check.unexpected).toHaveLength(1);
    expect(check.bank.preserved).toBe(false);
  });

  it('refuses an overdraft with 409, never a 500, while transfers race on accounts near zero', async () => {
    // Four accounts with 10 each, 400 transfers of 1-8 among them, 40 in flight: concurrent
    // transfers keep changing the payer's balance while a transfer waits for its lock.
    const ids = [17, 18, 19, 20];
    const before = await admin.query<{ id: number; balance: string }>(
      'select id, balance::text as balance from accounts where id = any($1) order by id',
      [ids],
    );
    await admin.query('update accounts set balance = 10 where id = any($1)', [ids]);
    try {
      const base = `http://127.0.0.1:${service.port}`;
      const statuses: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 40 }, async () => {
          while (next < 400) {
            const i = next++;
            const from = ids[i % 4] as number;
            const to = ids[(i + 1 + (i % 3)) % 4] as number;
            const res = await fetch(`${base}/transfers`, {
              method: 'POST',
              body: JSON.stringify({ requestId: crypto.randomUUID(), from, to, amount: 1 + ((i * 7) % 8) }),
            });
            await res.arrayBuffer();
            statuses.push(res.status);
          }
        }),
      );
      const counted = (status: number): number => statuses.filter((s) => s === status).length;
      expect(statuses).toHaveLength(400);
      expect(counted(201) + counted(409)).toBe(400);
      expect(counted(201)).toBeGreaterThan(0);
      expect(counted(409)).toBeGreaterThan(0);
      const after = await admin.query<{ total: string; lowest: string }>(
        'select sum(balance)::text as total, min(balance)::text as lowest from accounts where id = any($1)',
        [ids],
      );
      expect(after.rows[0]).toEqual({ total: '40', lowest: expect.stringMatching(/^\d+$/) });
    } finally {
      for (const row of before.rows)
        await admin.query('update accounts set balance = $2 where id = $1', [row.id, row.balance]);
    }
  });
});
