/**
 * A real PostgreSQL connection (pg, embedded PostgreSQL) through the fault proxy: latency slows
 * each query by about its value, removing it restores the speed, and reset_peer breaks the session.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from '../../src/faultproxy/fault-proxy.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let postgres: TestPostgres;
let faults: FaultProxy;
let client: pg.Client | null = null;

beforeAll(async () => {
  [postgres, faults] = await Promise.all([startTestPostgres(), createFaultProxy()]);
  await faults.addProxy({ name: 'pg', upstream: `127.0.0.1:${postgres.port}` });
});
afterAll(async () => {
  await client?.end().catch(() => undefined);
  await faults?.close();
  await postgres?.close();
});

/**
 * The fastest of `times` runs: one stall of the test process or the server's backend on a loaded
 * machine lengthens one run, while a toxic on the path lengthens every run.
 */
async function timed(run: () => Promise<unknown>, times = 5): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('PostgreSQL through the fault proxy', () => {
  it('latency on the path slows every query by about its value; removed, queries are fast again', async () => {
    const port = Number(faults.proxy('pg').listen.split(':').pop());
    const url = new URL(postgres.url());
    url.port = String(port);
    client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
    await client.connect();
    const query = (): Promise<unknown> => (client as pg.Client).query('SELECT 1');
    await query();
    const baseline = await timed(query);

    faults.addToxic('pg', { type: 'latency', attributes: { latency: 100 } });
    const slowed = await timed(query);
    faults.removeToxic('pg', 'latency_downstream');
    const after = await timed(query);

    expect(baseline).toBeLessThan(50);
    expect(slowed).toBeGreaterThanOrEqual(95);
    expect(slowed).toBeLessThan(600);
    expect(after).toBeLessThan(50);
  });

  it('reset_peer makes the next query fail with a connection error', async () => {
    const session = client as pg.Client;
    const errors: Error[] = [];
    session.on('error', (error) => errors.push(error));
    faults.addToxic('pg', { type: 'reset_peer', attributes: { timeout: 0 } });
    await expect(session.query('SELECT 1')).rejects.toThrow(/ECONNRESET|Connection terminated/);
    faults.removeToxic('pg', 'reset_peer_downstream');
  });
});
