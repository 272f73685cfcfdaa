/**
 * The final reads the checker judges: on the final writer's database, every row the workload's
 * clients wrote (orders and client events by client id; every transfer, the workload being the
 * only one to make transfers) and the bank's total.
 */
import type pg from 'pg';
import { bankTotal } from '../../demo/service/schema.js';
import type { FinalReads } from './invariants.js';
import type { FinalRow } from './writes.js';

async function rows(client: pg.ClientBase, sql: string, values: unknown[]): Promise<FinalRow[]> {
  const result = await client.query<{ request_id: string; id: string }>(sql, values);
  return result.rows.map((row) => ({ requestId: row.request_id, id: row.id }));
}

export async function readFinal(client: pg.ClientBase, clients: readonly string[]): Promise<FinalReads> {
  const ids = [...clients];
  const bank = await bankTotal(client);
  return {
    rows: {
      order: await rows(client, `select request_id::text, id::text from orders where client_id = any($1::text[])`, [
        ids,
      ]),
      event: await rows(
        client,
        `select request_id::text, id::text from client_events where client_id = any($1::text[])`,
        [ids],
      ),
      transfer: await rows(client, `select request_id::text, id::text from transfers`, []),
    },
    bank: { total: bank.total, negative: bank.negative },
  };
}
