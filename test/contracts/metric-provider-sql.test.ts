/** The sql provider against a real PostgreSQL (embedded 18): two databases stand for the two sites. */
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { createSqlProvider } from '../../src/analysis/providers/sql.js';
import { createRedactor } from '../../src/common/redact.js';
import { freePort } from '../../src/common/net.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { metricProviderContract } from './metric-provider.shared.js';

let pg: TestPostgres;
let unreachable: string;
const total = 'select sum(balance) from accounts';

async function setupDatabases(): Promise<void> {
  pg = await startTestPostgres();
  for (const [db, balances] of [
    ['site_source', [100, 200]],
    ['site_target', [100, 150]],
  ] as const) {
    await pg.createDatabase(db);
    await pg.query('create table accounts (id int primary key, balance numeric not null)', [], db);
    for (const [i, b] of balances.entries()) await pg.query('insert into accounts values ($1, $2)', [i, b], db);
  }
  unreachable = `postgresql://postgres:secret-password-x@127.0.0.1:${await freePort()}/nothing`;
}

const sites = () => ({ source: pg.url('site_source'), target: pg.url('site_target') });

metricProviderContract('sql (real PostgreSQL)', {
  setup: setupDatabases,
  teardown: async () => pg?.close(),
  healthy: () => createSqlProvider({ databases: sites(), query: total }),
  unreachable: () =>
    createSqlProvider(
      { databases: { source: unreachable, target: unreachable }, query: total, connectTimeoutMs: 2000 },
      { redactor: createRedactor() },
    ),
  empty: () => createSqlProvider({ databases: sites(), query: 'select balance from accounts where id = -1' }),
  hanging: () =>
    createSqlProvider({ databases: sites(), query: 'select 1 from pg_sleep(30)', statementTimeoutMs: 300 }),
  hangTimeoutMs: 300,
  secrets: ['secret-password-x'],
});

describe('sql provider: one number, read only', () => {
  beforeAll(setupDatabases);
  afterAll(async () => pg?.close());

  async function measure(query: string) {
    const p = createSqlProvider({ databases: sites(), query });
    await p.start();
    try {
      return await p.measure({ sites: ['source', 'target'], windowMs: 0 });
    } finally {
      await p.stop();
    }
  }

  it('returns each site its own value (numeric arrives as text and is converted)', async () => {
    const m = await measure(total);
    expect(m.sites.source).toEqual({ status: 'ok', values: { value: 300 }, samples: 1 });
    expect(m.sites.target).toEqual({ status: 'ok', values: { value: 250 }, samples: 1 });
  });

  it('cannot write: the transaction is read only and a second statement is refused', async () => {
    const write = await measure('delete from accounts returning 1');
    expect(write.sites.target).toMatchObject({
      status: 'error',
      retryable: false,
      reason: expect.stringMatching(/read-only transaction/),
    });
    const smuggled = await measure('select 1; commit; delete from accounts');
    expect(smuggled.sites.target).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/multiple commands/),
    });
    const count = await pg.query<{ n: string }>('select count(*) as n from accounts', [], 'site_target');
    expect(count.rows[0]?.n).toBe('2');
  });

  it('refuses results that are not one number', async () => {
    expect((await measure('select id, balance from accounts')).sites.target).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/one row with one column; it returned 2 rows of 2 columns/),
    });
    expect((await measure(`select 'abc'`)).sites.target).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/"abc", not a number/),
    });
    expect((await measure('select null::int')).sites.target).toEqual({
      status: 'no-data',
      reason: 'the query returned NULL',
    });
  });
});
