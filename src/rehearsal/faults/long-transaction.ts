/**
 * The long-transaction fault: a client session on one site's database (`env.databaseUrl[site]`)
 * opens a REPEATABLE READ transaction, takes an xid (`txid_current()`) and reads the first of the
 * plan's tables, then stays idle in that transaction until clear: its snapshot holds back the
 * xmin horizon (vacuum, a replication slot's catalog_xmin) and its lock on the table makes any DDL
 * on it wait, as a forgotten BEGIN in a psql window does. At clear: ROLLBACK and the session closed
 * (bounded; if the server ended it meanwhile, closing is all that is left). Its application_name is
 * `rehearsal-long-transaction`, so handoff's own checks see it as a client, not as handoff.
 */
import { AdapterError } from '../../common/errors.js';
import { once } from './once.js';
import { firstTable, openFaultSession } from './pg-session.js';
import type { ActiveFault, FaultInjector } from './types.js';

export const LONG_TRANSACTION_APPLICATION = 'rehearsal-long-transaction';

export const longTransactionInjector: FaultInjector<'long-transaction'> = {
  kind: 'long-transaction',
  async inject(fault, env, signal) {
    signal?.throwIfAborted();
    const session = await openFaultSession(env.databaseUrl[fault.site], fault.site, LONG_TRANSACTION_APPLICATION);
    const { client } = session;
    let xid: string;
    let read = 'no table read (none of the plan tables is a plain name)';
    try {
      await client.query('SET idle_in_transaction_session_timeout = 0');
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      xid = (await client.query<{ xid: string }>('SELECT txid_current()::text AS xid')).rows[0]?.xid ?? '?';
      const first = firstTable(env.tables);
      if (first) {
        const exists = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [
          first.sql,
        ]);
        if (exists.rows[0]?.found) {
          await client.query(`SELECT 1 FROM ${first.sql} LIMIT 1`);
          read = `a read of ${first.sql}`;
        } else {
          read = `no table read (${first.sql} is not there yet)`;
        }
      }
    } catch (error) {
      await session.close();
      throw new AdapterError(
        `long-transaction fault "${fault.name}": opening the transaction on the ${fault.site} database failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, retryable: true },
      );
    }
    if (signal?.aborted) {
      await session.close();
      signal.throwIfAborted();
    }
    env.logger.info('long-transaction fault: held', {
      fault: fault.name,
      site: fault.site,
      backendPid: session.backendPid,
    });
    const clear = once(async () => {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The session is gone already (the server restarted or ended it): its transaction with it.
      }
      await session.close();
      env.logger.info('long-transaction fault: rolled back', { fault: fault.name, site: fault.site });
    });
    return {
      detail: `transaction held open on the ${fault.site} database (backend pid ${session.backendPid}, xid ${xid}, repeatable read snapshot, ${read}); ROLLBACK at clear`,
      clear,
    } satisfies ActiveFault;
  },
};
