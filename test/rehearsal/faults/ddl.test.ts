/**
 * The DDL fault on a real PostgreSQL server: by default a nullable column rehearsal_<n> is added to
 * the first plan table (and stays after clear); the fault's own SQL runs as given; a DDL that cannot
 * get its lock fails within its bound, retryable, changing nothing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { createDdlInjector, ddlInjector } from '../../../src/rehearsal/faults/ddl.js';
import type { FaultEnvironment } from '../../../src/rehearsal/faults/types.js';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.js';
import { testFaultEnv } from './env.js';

let postgres: TestPostgres;
let env: FaultEnvironment;

beforeAll(async () => {
  postgres = await startTestPostgres();
  await postgres.query('CREATE TABLE public.orders (id int PRIMARY KEY); INSERT INTO public.orders VALUES (1)');
  env = testFaultEnv({
    databaseUrl: { source: postgres.url(), target: 'postgres://nowhere.invalid/x' },
    tables: ['public.orders', 'public.other'],
  });
}, 60_000);
afterAll(async () => {
  await postgres?.close();
}, 60_000);

function ddl(fields: Record<string, unknown> = {}) {
  const fault = rehearsalFault.parse({ kind: 'ddl', name: 'd', at: { stage: 'replicate' }, ...fields });
  if (fault.kind !== 'ddl') throw new Error('not a ddl fault');
  return fault;
}

const columns = async (): Promise<{ column_name: string; is_nullable: string; data_type: string }[]> =>
  (
    await postgres.query<{ column_name: string; is_nullable: string; data_type: string }>(
      "SELECT column_name, is_nullable, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position",
    )
  ).rows;

describe('ddl fault', () => {
  it('adds a nullable column rehearsal_1, then rehearsal_2, to the first table; clear leaves them', async () => {
    const first = await ddlInjector.inject(ddl(), env);
    expect(first.detail).toBe(
      'added the nullable column rehearsal_1 (text) to "public"."orders" on the source database; it stays after clear',
    );
    const second = await ddlInjector.inject(ddl(), env);
    expect(second.detail).toMatch(/column rehearsal_2 /);
    await first.clear();
    await second.clear();
    expect(await columns()).toEqual([
      { column_name: 'id', is_nullable: 'NO', data_type: 'integer' },
      { column_name: 'rehearsal_1', is_nullable: 'YES', data_type: 'text' },
      { column_name: 'rehearsal_2', is_nullable: 'YES', data_type: 'text' },
    ]);
    expect((await postgres.query('SELECT count(*)::int AS n FROM public.orders')).rows[0]).toEqual({ n: 1 });
  });

  it("runs the fault's own SQL and says what it ran", async () => {
    const active = await ddlInjector.inject(ddl({ sql: 'CREATE INDEX orders_r1 ON public.orders (rehearsal_1)' }), env);
    expect(active.detail).toBe(
      "ran the fault's SQL on the source database (CREATE): CREATE INDEX orders_r1 ON public.orders (rehearsal_1); it stays after clear",
    );
    expect((await postgres.query("SELECT to_regclass('public.orders_r1') IS NOT NULL AS found")).rows[0]).toEqual({
      found: true,
    });
  });

  it('a DDL that cannot get its lock fails within its bound, retryable, and changes nothing', async () => {
    const holder = new pg.Client({ connectionString: postgres.url() });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE public.orders IN ACCESS SHARE MODE');
      const started = Date.now();
      const error = await createDdlInjector({ lockTimeoutMs: 300 })
        .inject(ddl(), env)
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((error as HandoffError).code).toBe('adapter');
      expect((error as HandoffError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/waited 300 ms for its lock/);
      await holder.query('ROLLBACK');
      expect((await columns()).map((c) => c.column_name)).toEqual(['id', 'rehearsal_1', 'rehearsal_2']);
    } finally {
      await holder.end();
    }
  });

  it('without sql and without a plain table to change it is an InputError', async () => {
    const error = await ddlInjector.inject(ddl(), { ...env, tables: ['public.*'] }).catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('input.invalid');
    expect((error as Error).message).toMatch(/names no plain table .*public\.\*/);
  });
});
