/**
 * A bounded application workload for migration tests: inserts orders (each with a fresh token) and
 * items, updates earlier orders, through a plain application role, against whichever site is the
 * writer now. Records every acknowledged (committed and answered) write; refused writes are retried
 * against the current writer with a new token, like a client behind a router would.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { TestPostgres } from '../support/postgres.js';

export const APP_PASSWORD = 'app-Secret-pw-42';

export const SHOP_SCHEMA = `
  create table public.orders (
    id bigint generated always as identity primary key,
    token uuid not null,
    customer text not null,
    amount numeric(12,2),
    note jsonb,
    updated_at timestamptz not null default now());
  create table public.items (order_id bigint not null, line int not null, sku text, qty int, primary key (order_id, line));
  create table public.counters (name text primary key, value bigint not null);
`;

export const SHOP_GRANTS = `
  grant usage on schema public to app;
  grant select, insert, update, delete on all tables in schema public to app;
  grant usage, select on all sequences in schema public to app;
`;

/**
 * Both sites as the migration tests start them: the application role, the `shop` database with its
 * schema and grants on each, and `seedOrders` orders (one item each) on the source.
 */
export async function prepareShopPair(source: TestPostgres, target: TestPostgres, seedOrders: number): Promise<void> {
  for (const server of [source, target]) {
    await server.query(`create role app login password '${APP_PASSWORD}'`);
    await server.createDatabase('shop');
    await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], 'shop');
  }
  await source.query(
    `insert into public.orders (token, customer, amount, note) select gen_random_uuid(), 'seed-' || g, g / 10.0, jsonb_build_object('seed', g) from generate_series(1, ${seedOrders}) g;
     insert into public.items select id, 1, 'seed', 1 from public.orders;
     analyze;`,
    [],
    'shop',
  );
}

export type Writer = 'source' | 'target';

export interface Ack {
  token: string;
  id: number;
  site: Writer;
}

export interface Workload {
  writer: Writer;
  acks: Ack[];
  refused: number;
  lastError?: string;
  /** Errors other than refusals (these must not happen). */
  unexpected: string[];
  stop(): Promise<void>;
  /** Resolves once `n` more writes were acknowledged (bounded). */
  waitForAcks(n: number, timeoutMs?: number): Promise<void>;
}

export function startWorkload(urls: Record<Writer, string>, options: { maxOps: number; maxMs: number }): Workload {
  let stopping = false;
  const clients: Partial<Record<Writer, pg.Client>> = {};
  const started = Date.now();
  const state: Workload = {
    writer: 'source',
    acks: [],
    refused: 0,
    unexpected: [],
    async stop() {
      stopping = true;
      await loop;
      await Promise.all(Object.values(clients).map((c) => c?.end().catch(() => undefined)));
    },
    async waitForAcks(n, timeoutMs = 60_000) {
      const goal = state.acks.length + n;
      const deadline = Date.now() + timeoutMs;
      while (state.acks.length < goal) {
        if (Date.now() > deadline) {
          throw new Error(
            `workload: only ${state.acks.length}/${goal} acks within ${timeoutMs} ms (${state.refused} refused, last error: ${state.lastError ?? 'none'})`,
          );
        }
        if (stopping) throw new Error('workload stopped');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  const client = async (site: Writer): Promise<pg.Client> => {
    const existing = clients[site];
    if (existing) return existing;
    const c = new pg.Client({ connectionString: urls[site], connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    clients[site] = c;
    return c;
  };
  const loop = (async () => {
    for (let op = 0; op < options.maxOps && !stopping && Date.now() - started < options.maxMs; op++) {
      const site = state.writer;
      try {
        const c = await client(site);
        const token = randomUUID();
        await c.query('begin');
        const r = await c.query<{ id: string }>(
          `insert into public.orders (token, customer, amount, note) values ($1, $2, $3, $4) returning id`,
          [token, `customer-${op % 97}`, (op % 1000) / 10, JSON.stringify({ op, tags: ['a', op % 3] })],
        );
        const id = Number(r.rows[0]?.id);
        await c.query(`insert into public.items (order_id, line, sku, qty) values ($1, 1, $2, $3)`, [
          id,
          `sku-${op % 13}`,
          op % 5,
        ]);
        if (op % 3 === 0 && state.acks.length > 0) {
          const prior = state.acks[(op * 7919) % state.acks.length] as Ack;
          await c.query(`update public.orders set amount = amount + 1, updated_at = now() where id = $1`, [prior.id]);
        }
        await c.query(
          `insert into public.counters (name, value) values ('ops', 1) on conflict (name) do update set value = counters.value + 1`,
        );
        await c.query('commit');
        state.acks.push({ token, id, site });
      } catch (error) {
        const code = (error as { code?: string }).code;
        state.lastError = `${site} ${code ?? ''} ${(error as Error).message}`;
        const c = clients[site];
        if (c) await c.query('rollback').catch(() => undefined);
        if (code === '42501' || code === '25006' || code === '57P01' || !code) {
          state.refused++;
          if (code === '57P01' || !code) {
            await clients[site]?.end().catch(() => undefined);
            delete clients[site];
          }
        } else {
          state.unexpected.push(`${code}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  return state;
}
