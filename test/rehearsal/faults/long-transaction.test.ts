/**
 * The long-transaction fault on a real PostgreSQL server: while held, pg_stat_activity shows a
 * client session idle in transaction with backend_xmin set, and DDL on the table it read waits;
 * after clear the session is gone and the DDL goes through.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { sleep } from '../../../src/common/net.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import {
  LONG_TRANSACTION_APPLICATION,
  longTransactionInjector,
} from '../../../src/rehearsal/faults/long-transaction.js';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.js';
import { testFaultEnv } from './env.js';

let postgres: TestPostgres;

beforeAll(async () => {
  postgres = await startTestPostgres();
  await postgres.query('CREATE TABLE public.orders (id int PRIMARY KEY); INSERT INTO public.orders VALUES (1)');
}, 60_000);
afterAll(async () => {
  await postgres?.close();
}, 60_000);

function longTransaction(fields: Record<string, unknown> = {}) {
  const fault = rehearsalFault.parse({ kind: 'long-transaction', name: 'lt', at: { stage: 'cutover' }, ...fields });
  if (fault.kind !== 'long-transaction') throw new Error('not a long-transaction fault');
  return fault;
}

interface Activity {
  pid: number;
  state: string;
  backend_xmin: string | null;
  backend_xid: string | null;
}

const held = async (): Promise<Activity[]> =>
  (
    await postgres.query<Activity>(
      'SELECT pid, state, backend_xmin::text, backend_xid::text FROM pg_stat_activity WHERE application_name = $1',
      [LONG_TRANSACTION_APPLICATION],
    )
  ).rows;

describe('long-transaction fault', () => {
  it('holds a client session idle in transaction with backend_xmin set until clear; then it is gone', async () => {
    const env = testFaultEnv({
      databaseUrl: { source: postgres.url(), target: 'postgres://nowhere.invalid/x' },
      tables: ['public.*', 'public.orders'],
    });
    const active = await longTransactionInjector.inject(longTransaction(), env);
    expect(active.detail).toMatch(
      /^transaction held open on the source database \(backend pid \d+, xid \d+, repeatable read snapshot, a read of "public"\."orders"\); ROLLBACK at clear$/,
    );
    expect(LONG_TRANSACTION_APPLICATION.startsWith('handoff')).toBe(false);
    const during = await held();
    expect(during).toHaveLength(1);
    expect(during[0]).toMatchObject({ state: 'idle in transaction' });
    expect(during[0]?.backend_xmin).not.toBeNull();
    expect(during[0]?.backend_xid).not.toBeNull();

    // Its lock on the table it read makes DDL there wait.
    const ddl = new pg.Client({ connectionString: postgres.url() });
    await ddl.connect();
    try {
      await ddl.query("SET lock_timeout = '300ms'");
      await expect(ddl.query('ALTER TABLE public.orders ADD COLUMN note text')).rejects.toThrow(/lock timeout/);

      await active.clear();
      await active.clear();
      const deadline = Date.now() + 5_000;
      while ((await held()).length > 0 && Date.now() < deadline) await sleep(20);
      expect(await held()).toEqual([]);
      await ddl.query('ALTER TABLE public.orders ADD COLUMN note text');
    } finally {
      await ddl.end();
    }
  }, 30_000);

  it('a table not there yet is not read, and the snapshot is held all the same', async () => {
    const env = testFaultEnv({
      databaseUrl: { source: 'postgres://nowhere.invalid/x', target: postgres.url() },
      tables: ['public.not_yet'],
    });
    const active = await longTransactionInjector.inject(longTransaction({ site: 'target' }), env);
    try {
      expect(active.detail).toMatch(/no table read \("public"\."not_yet" is not there yet\)/);
      expect((await held())[0]?.backend_xmin).not.toBeNull();
    } finally {
      await active.clear();
    }
  }, 30_000);

  it('a database that cannot be reached is a retryable AdapterError that shows no connection string', async () => {
    const env = testFaultEnv({
      databaseUrl: { source: 'postgres://app:s3cret-pw@127.0.0.1:1/shop', target: postgres.url() },
    });
    const error = await longTransactionInjector.inject(longTransaction(), env).catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('adapter');
    expect((error as HandoffError).retryable).toBe(true);
    expect((error as Error).message).toMatch(/cannot connect to the source database/);
    expect((error as Error).message).not.toMatch(/s3cret-pw/);
  }, 30_000);
});
