import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { baseName } from '../../src/data/postgres/names.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness } from '../postgres/step-harness.js';
import { dataPlaneContract, type Site } from './data-plane.contract.js';

let source: TestPostgres;
let target: TestPostgres;
let runs = 0;
const APP = 'contract-App-pw';

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) await server.query(`create role app login password '${APP}'`);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

dataPlaneContract(
  'PostgreSQL 18 → 18',
  async () => {
    const db = `contract${++runs}`;
    const runId = `c${runs}`;
    const servers = { source, target };
    for (const server of [source, target]) {
      await server.createDatabase(db);
      // The application owns its table (as after its own migrations): fences revoke from the owner too.
      await server.query(
        `create table public.kv (k text primary key, v text); grant usage on schema public to app; alter table public.kv owner to app;`,
        [],
        db,
      );
    }
    const clients: pg.Client[] = [];
    const app = async (site: Site): Promise<pg.Client> => {
      const c = new pg.Client({ connectionString: `postgresql://app:${APP}@127.0.0.1:${servers[site].port}/${db}` });
      c.on('error', () => undefined);
      await c.connect();
      clients.push(c);
      return c;
    };
    const appClients = { source: await app('source'), target: await app('target') };
    const { ctx } = makeHarness({
      runId,
      database: db,
      sourceUrl: source.url(db),
      targetUrl: target.url(db),
      tables: ['public.kv'],
    });
    const prefix = baseName(runId, db);
    return {
      plane: createPostgresDataPlane({ copyTimeoutMs: 30_000, markerTimeoutMs: 20_000 }),
      ctx,
      entry: ctx.plan.spec.data[0]!,
      sourceUrl: source.url(db),
      targetUrl: target.url(db),
      async appWrite(site, key, value) {
        try {
          await appClients[site].query(
            `insert into public.kv values ($1, $2) on conflict (k) do update set v = excluded.v`,
            [key, value],
          );
          return true;
        } catch (error) {
          if ((error as { code?: string }).code === '42501') return false;
          throw error;
        }
      },
      async read(site, key) {
        const r = await servers[site].query<{ v: string }>(`select v from public.kv where k = $1`, [key], db);
        return r.rows[0]?.v ?? null;
      },
      async diverge(key, value) {
        await target.query(`update public.kv set v = $2 where k = $1`, [key, value], db);
      },
      async leftovers() {
        const out: string[] = [];
        for (const [name, server] of Object.entries(servers)) {
          const r = await server.query<{ what: string }>(
            `select 'slot ' || slot_name as what from pg_replication_slots where slot_name like $1 || '%'
             union all select 'publication ' || pubname from pg_publication where pubname like $1 || '%'
             union all select 'subscription ' || subname from pg_subscription where subname like $1 || '%'
             union all select 'table ' || relname from pg_class where relname like $1 || '%'
             union all select 'trigger ' || tgname from pg_trigger where tgname like $1 || '%'`,
            [prefix],
            db,
          );
          out.push(...r.rows.map((row) => `${name}: ${row.what}`));
        }
        return out;
      },
      async close() {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      },
    };
  },
  120_000,
);
