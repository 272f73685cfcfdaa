/**
 * The history and the checker on the real demo service and PostgreSQL: a clean load is judged
 * clean (every acknowledged write present once, reads and bank totals right), and the service's
 * test-only broken variant, which applies every client event twice, is caught as `duplicated` by
 * both the checker and the ledger.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../../src/demo/load/ledger.js';
import { startLoad } from '../../src/demo/load/generator.js';
import { INITIAL_BALANCE, migrate, seed } from '../../src/demo/service/schema.js';
import { startDemoService } from '../../src/demo/service/server.js';
import { readFinal } from '../../src/rehearsal/check/final-reads.js';
import { checkHistory } from '../../src/rehearsal/check/invariants.js';
import { createHistoryMemory } from '../../src/rehearsal/history.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const ACCOUNTS = 20;
const EXPECTED = BigInt(ACCOUNTS * INITIAL_BALANCE);

describe('history and invariants on the demo service', () => {
  let server: TestPostgres;
  let admin: pg.Client;
  let appUrl: string;
  let databases = 0;

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.query(`create role demo_app login password 'app-pw-123'`);
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await server?.close();
  });

  /** A fresh database per load: the workload is then the only writer of transfers. */
  async function loadThrough(applyTwice: boolean) {
    const name = `shop${++databases}`;
    await server.createDatabase(name);
    await admin?.end();
    admin = new pg.Client({ connectionString: server.url(name) });
    await admin.connect();
    await migrate(admin, 'demo_app');
    await seed(admin, { accounts: ACCOUNTS, orders: 100 });
    appUrl = `postgresql://demo_app:app-pw-123@127.0.0.1:${server.port}/${name}`;
    const service = await startDemoService({ databaseUrl: appUrl, port: 0, site: 'source', applyTwice });
    try {
      const history = createHistoryMemory();
      const load = startLoad({
        baseUrl: `http://127.0.0.1:${service.port}`,
        rate: 200,
        clients: 4,
        accounts: ACCOUNTS,
        maxRequests: 600,
        maxDurationMs: 8000,
        history,
      });
      const stats = await load.done;
      const final = await readFinal(admin, load.ledger.clients);
      return { stats, history, load, final };
    } finally {
      await service.close();
    }
  }

  it('judges a clean load clean: every invariant holds, on a history with every kind of operation', async () => {
    const { stats, history, final, load } = await loadThrough(false);
    expect(stats.failed).toBe(0);
    const kinds = new Set(history.ops.map((op) => `${op.f}/${op.type}`));
    for (const kind of ['order', 'transfer', 'event', 'read-order', 'read-total'])
      for (const type of ['invoke', 'ok']) expect(kinds, `${kind}/${type}`).toContain(`${kind}/${type}`);
    // Every invoke has exactly one completion.
    const invokes = history.ops.filter((op) => op.type === 'invoke').length;
    expect(history.ops.length).toBe(invokes * 2);
    const verdict = checkHistory(history.ops, final, { expectedTotal: EXPECTED });
    expect(verdict.counts).toEqual({
      lost: 0,
      unexpected: 0,
      duplicated: 0,
      stale: 0,
      wrongTotal: 0,
      negativeValue: 0,
      readYourWritesViolations: 0,
    });
    expect(verdict.totals.acknowledged).toBeGreaterThan(100);
    expect(verdict.totals.readsJudged).toBeGreaterThan(10);
    expect(verdict.totals.bankReads).toBeGreaterThan(1);
    expect((await checkLedger(load.ledger, admin, ACCOUNTS)).ok).toBe(true);
  });

  it('catches the broken variant that applies each client event twice: duplicated, in the checker and the ledger', async () => {
    const { history, final, load } = await loadThrough(true);
    const events = history.ops.filter((op) => op.f === 'event' && op.type === 'ok').length;
    expect(events).toBeGreaterThan(5);
    const verdict = checkHistory(history.ops, final, { expectedTotal: EXPECTED });
    expect(verdict.counts.duplicated).toBe(events);
    expect(verdict.counts.lost + verdict.counts.unexpected).toBe(0);
    const ledger = await checkLedger(load.ledger, admin, ACCOUNTS);
    expect(ledger.ok).toBe(false);
    expect(ledger.duplicated).toHaveLength(events);
  });

  it('a lost write is caught: an acknowledged order deleted behind the service', async () => {
    const { history, load } = await loadThrough(false);
    const acked = [...load.ledger.orders.values()].find((o) => o.outcome === 'ok');
    expect(acked).toBeDefined();
    await admin.query('delete from order_events where order_id = $1', [acked?.write.id]);
    await admin.query('delete from orders where id = $1', [acked?.write.id]);
    const verdict = checkHistory(history.ops, await readFinal(admin, load.ledger.clients), { expectedTotal: EXPECTED });
    expect(verdict.counts.lost).toBe(1);
    expect(verdict.examples.lost).toEqual([acked?.write.requestId]);
  });
});
