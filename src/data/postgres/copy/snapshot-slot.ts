/**
 * The chunked copy's slot: a logical replication slot made on a replication connection with an
 * exported snapshot (pgcopydb's way). The copy reads every table under that snapshot, and the
 * subscription made afterwards on the same slot streams exactly the changes after it. The snapshot
 * is valid only while the connection that made it stays open and idle: `close` ends it.
 *
 * Creating the slot waits until every transaction that holds a transaction id on the source has
 * ended (PostgreSQL builds the snapshot from a point no running write precedes): one session left
 * idle in a transaction, or a prepared transaction, holds it for as long as it stays. The wait is
 * bounded (`timeoutMs`) and ends with the run's abort (`signal`): the connection is closed and its
 * server process ended (`terminate`; a process waiting on a lock does not notice its client left),
 * which drops the half-made slot with it, and the error names what it waited for (`waitingFor`).
 */
import pg from 'pg';
import { AdapterError, messageOf } from '../../../common/errors.js';
import type { Redactor } from '../../../common/redact.js';
import { parseDatabaseUrl } from '../identifiers.js';

export interface SnapshotSlot {
  slot: string;
  /** The exported snapshot's name, for SET TRANSACTION SNAPSHOT. */
  snapshot: string;
  /** The LSN from which the slot streams changes. */
  consistentPoint: string;
  close(): Promise<void>;
}

export interface SnapshotSlotOptions {
  /** The publisher's URL as the run's replication role (LOGIN REPLICATION). */
  url: string;
  slot: string;
  /** The publisher's major version: 15+ takes the option list, older servers EXPORT_SNAPSHOT. */
  major: number;
  /** Also make it a failover slot (PostgreSQL 17+ on both ends, as the subscription would). */
  failover: boolean;
  redactor: Redactor;
  connectTimeoutMs?: number;
  /** Bound on creating the slot (ms); 60 s by default. */
  timeoutMs?: number;
  /** Ends the wait (the run was aborted). */
  signal?: AbortSignal;
  /** What the source is running that the slot waits for, for the error when the bound is reached. */
  waitingFor?: () => Promise<string>;
  /** Ends a server process of the source (pg_terminate_backend on another session). */
  terminate?: (pid: number) => Promise<unknown>;
}

export function createSlotCommand(slot: string, major: number, failover: boolean): string {
  const name = pg.escapeIdentifier(slot);
  if (major < 15) return `CREATE_REPLICATION_SLOT ${name} LOGICAL pgoutput EXPORT_SNAPSHOT`;
  const options = [`SNAPSHOT 'export'`];
  if (failover && major >= 17) options.push('FAILOVER true');
  return `CREATE_REPLICATION_SLOT ${name} LOGICAL pgoutput (${options.join(', ')})`;
}

/** Opens the replication connection and creates the slot with an exported snapshot. */
export async function createSnapshotSlot(options: SnapshotSlotOptions): Promise<SnapshotSlot> {
  const parsed = parseDatabaseUrl(options.url, 'source (replication)', options.redactor);
  const client = new pg.Client({
    host: parsed.host,
    port: parsed.port,
    database: parsed.database,
    user: parsed.user,
    password: parsed.password,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'handoff-copy-snapshot',
    replication: 'database',
  } as pg.ClientConfig);
  client.on('error', () => undefined); // reported by the query that fails, or harmless once closed
  const close = async (): Promise<void> => {
    await client.end().catch(() => undefined);
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  let ended: 'timeout' | 'aborted' | null = null;
  const end = (why: 'timeout' | 'aborted'): void => {
    ended ??= why;
    void close();
  };
  const timer = setTimeout(() => end('timeout'), timeoutMs);
  const onAbort = (): void => end('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) end('aborted');
  try {
    await client.connect();
    const r = await client.query<{ slot_name: string; consistent_point: string; snapshot_name: string | null }>(
      createSlotCommand(options.slot, options.major, options.failover),
    );
    const row = r.rows[0];
    if (!row?.snapshot_name) throw new Error('the server returned no snapshot name');
    return { slot: row.slot_name, snapshot: row.snapshot_name, consistentPoint: row.consistent_point, close };
  } catch (error) {
    await close();
    const pid = (client as unknown as { processID: number | null }).processID;
    if (ended !== null && pid && options.terminate) await options.terminate(pid).catch(() => undefined);
    if (ended === 'aborted') {
      throw new AdapterError(
        `creating the replication slot ${options.slot} on the source was stopped: the run was aborted`,
        {
          cause: error,
        },
      );
    }
    if (ended === 'timeout') {
      const what = options.waitingFor ? await options.waitingFor().catch(() => '') : '';
      throw new AdapterError(
        `creating the replication slot ${options.slot} on the source did not finish within ${timeoutMs} ms: it waits for every transaction that writes on the source to end${what ? ` (${what})` : ''}; end them (commit, roll back, or pg_terminate_backend), or run again once they are done`,
        { cause: error, retryable: true },
      );
    }
    throw new AdapterError(
      `cannot create the replication slot ${options.slot} with an exported snapshot on the source (${options.redactor.redact(messageOf(error))}); the run's replication role needs LOGIN REPLICATION and the source wal_level = logical`,
      { cause: error, retryable: true },
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The transactions a snapshot slot waits for on the source, oldest first (at most `limit`): sessions
 * whose transaction holds a transaction id, and prepared transactions. For messages: no query text.
 */
export async function openWriteTransactions(client: pg.Client, limit = 3): Promise<string> {
  const r = await client.query<{ what: string }>(
    `select * from (
       (select format('pid %s (%s, application %s) %s, its transaction open %s s', pid, usename,
                      coalesce(nullif(application_name, ''), '-'), state,
                      extract(epoch from now() - xact_start)::int) as what, xact_start as since
          from pg_stat_activity
         where backend_xid is not null and pid <> pg_backend_pid()
         order by xact_start limit $1)
       union all
       (select format('prepared transaction %s (%s), prepared %s s ago', quote_literal(gid), owner,
                      extract(epoch from now() - prepared)::int), prepared
          from pg_prepared_xacts order by prepared limit $1)
     ) t order by since limit $1`,
    [limit],
  );
  return r.rows.map((row) => row.what).join('; ');
}
