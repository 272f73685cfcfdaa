/**
 * A PostgreSQL session for the database faults (long transaction, DDL, password change): connected
 * within a bound, every statement bounded, named by an application_name that does not start with
 * `handoff` (handoff's own checks see it as a client), and closed within a bound. The connection
 * string is never put in a message (it may hold a password).
 */
import pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import { parseTableName, quoteTable, type TableName } from '../../data/postgres/identifiers.js';
import type { SiteName } from './types.js';

const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const CLOSE_BOUND_MS = 5_000;

export interface FaultSession {
  client: pg.Client;
  /** The server process serving the session. */
  backendPid: number;
  /** Bounded (a broken connection is destroyed); idempotent. */
  close(): Promise<void>;
}

export async function openFaultSession(url: string, site: SiteName, applicationName: string): Promise<FaultSession> {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
  });
  // A session the server ends (a restart, a terminate) must not crash the process; its next query fails.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new AdapterError(
      `cannot connect to the ${site} database: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, retryable: true },
    );
  }
  let closing: Promise<void> | null = null;
  const session: FaultSession = {
    client,
    backendPid: -1,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const bound = setTimeout(() => {
          (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
          resolve();
        }, CLOSE_BOUND_MS);
        client
          .end()
          .catch(() => undefined)
          .finally(() => {
            clearTimeout(bound);
            resolve();
          });
      });
      return closing;
    },
  };
  try {
    const row = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0];
    session.backendPid = row?.pid ?? -1;
  } catch (error) {
    await session.close();
    throw new AdapterError(`the ${site} database session failed at once: ${String(error)}`, {
      cause: error,
      retryable: true,
    });
  }
  return session;
}

/** The first of the plan's tables that is a plain table name (patterns such as public.* are skipped), or null. */
export function firstTable(tables: readonly string[]): { table: TableName; sql: string } | null {
  for (const text of tables) {
    try {
      const table = parseTableName(text, 'table');
      return { table, sql: quoteTable(table) };
    } catch {
      continue;
    }
  }
  return null;
}
