/**
 * The chunked copy's slot: a logical replication slot made on a replication connection with an
 * exported snapshot (pgcopydb's way). The copy reads every table under that snapshot, and the
 * subscription made afterwards on the same slot streams exactly the changes after it. The snapshot
 * is valid only while the connection that made it stays open and idle: `close` ends it.
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
    throw new AdapterError(
      `cannot create the replication slot ${options.slot} with an exported snapshot on the source (${options.redactor.redact(messageOf(error))}); the run's replication role needs LOGIN REPLICATION and the source wal_level = logical`,
      { cause: error, retryable: true },
    );
  }
}
