/**
 * The demo service's queries wait for their connection's `prepare`: a connection the pool makes on
 * demand starts its prepare as it connects, and a query sent before it is done would wait in the
 * connection's own queue (pg 8 warns that this is deprecated; pg 9 removes it). Its own file: the
 * warning is given once per process, so no other test may have spent it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLivePool, queryReady } from '../../src/demo/service/live-pool.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

describe('queryReady', () => {
  let server: TestPostgres;
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.message);
  };

  beforeAll(async () => {
    process.on('warning', onWarning);
    server = await startTestPostgres();
    await server.query(`create role ready_app login password 'ready-pw-1'`);
  }, 120_000);

  afterAll(async () => {
    process.off('warning', onWarning);
    await server?.close();
  });

  it('runs a query on a new connection after its prepare, never queued behind it', async () => {
    const prepares: string[] = [];
    const pools = createLivePool(`postgresql://ready_app:ready-pw-1@127.0.0.1:${server.port}/postgres`, {
      max: 3,
      prepare: async (client) => {
        await new Promise((resolve) => setTimeout(resolve, 100)); // slower than a login
        await client.query(`set application_name = 'readied'`);
        prepares.push('done');
      },
    });
    try {
      // No warm-up: three connections made on demand, each with its prepare under way.
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          queryReady<{ name: string }>(pools.current(), {
            text: `select current_setting('application_name') as name, pg_sleep(0.05)`,
          }),
        ),
      );
      expect(results.map((r) => r.rows[0]?.name)).toEqual(['readied', 'readied', 'readied']);
      expect(prepares).toHaveLength(3);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.includes('already executing a query'))).toEqual([]);

      // A query that fails gives its connection up (as pool.query does) and the error reaches the caller.
      const before = pools.current().totalCount;
      await expect(queryReady(pools.current(), { text: 'select 1/0' })).rejects.toThrow(/division by zero/);
      expect(pools.current().totalCount).toBe(before - 1);
    } finally {
      await pools.end();
    }
  }, 60_000);
});
