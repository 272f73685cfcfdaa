/**
 * Connections to the user's databases: URL validation with messages that never carry the password,
 * bounded connects, and pinned session settings so that text output (used in hashes) is the same on
 * both sides whatever the servers' defaults are.
 */
import pg from 'pg';
import { AdapterError, InputError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { parseDatabaseUrl, type ParsedDatabaseUrl } from './identifiers.js';

export { formatTable, parseDatabaseUrl, parseTableName, quoteTable } from './identifiers.js';
export type { ParsedDatabaseUrl, TableName } from './identifiers.js';

/** Settings that change the text form of values; pinned on every session we open. */
export const PINNED_SETTINGS: Readonly<Record<string, string>> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
  client_encoding: 'UTF8',
  standard_conforming_strings: 'on',
};

export interface ConnectOptions {
  /** What this connection is, for messages (`source`, `target`). */
  name: string;
  connectTimeoutMs?: number;
  /** Statement timeout for the session; none when left out. */
  statementTimeoutMs?: number;
  applicationName?: string;
  redactor?: Redactor;
  /**
   * Plan the session's statements without parallel workers (`max_parallel_workers_per_gather = 0`,
   * set in the same round trip as the pinned settings). For sessions whose statements are key
   * lookups and small ranges: the cutover's re-check of 383 keys under the hold started two workers
   * and took 193 ms on a busy 2-core machine (30-50 ms without them); on an idle server the same
   * statement shape took 49-55 ms with the workers and 16-21 ms without. Workers also take cores the
   * service needs.
   */
  serial?: boolean;
}

/**
 * The pinned settings in one statement, and handoff's own commits flushed locally where the server
 * lets its writers commit asynchronously (`synchronous_commit = off`): a heartbeat marker reaches
 * the target only once the write-ahead log up to it is flushed, so an asynchronous marker waited for
 * the WAL writer (up to `wal_writer_delay`, 200 ms by default; 326 ms of write pause in one cutover).
 * Never lowered: a server that waits for standbys keeps doing so for handoff's records too.
 */
function settingsQuery(serial: boolean): { text: string; values: string[] } {
  const entries = Object.entries(PINNED_SETTINGS);
  if (serial) entries.push(['max_parallel_workers_per_gather', '0']);
  const sets = entries.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`);
  sets.push(
    `case when current_setting('synchronous_commit') = 'off' then set_config('synchronous_commit', 'local', false) end`,
  );
  return { text: `select ${sets.join(', ')}`, values: entries.flat() };
}
const SETTINGS = settingsQuery(false);
const SERIAL_SETTINGS = settingsQuery(true);

/** Opens one session with pinned settings (one round trip after the connection). The caller ends it. */
export async function connect(url: string, options: ConnectOptions): Promise<pg.Client> {
  const parsed = parseDatabaseUrl(url, options.name, options.redactor);
  const client = new pg.Client({
    host: parsed.host,
    port: parsed.port,
    database: parsed.database,
    user: parsed.user,
    password: parsed.password ?? process.env.PGPASSWORD,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'handoff',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  client.on('error', () => undefined); // reported by the query that fails
  try {
    await client.connect();
    const settings = options.serial ? SERIAL_SETTINGS : SETTINGS;
    await client.query(settings.text, settings.values);
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw connectError(parsed, options, cause);
  }
  return client;
}

function connectError(parsed: ParsedDatabaseUrl, options: ConnectOptions, cause: unknown): AdapterError | InputError {
  const code = (cause as { code?: string }).code;
  const raw = messageOf(cause);
  const safe = options.redactor
    ? options.redactor.redact(raw)
    : parsed.password
      ? raw.split(parsed.password).join('***')
      : raw;
  const where = `${options.name} (${parsed.display})`;
  if (code === '28P01' || code === '28000') {
    return new InputError(`${where}: authentication failed for user "${parsed.user}"; check the password reference`);
  }
  if (code === '3D000') return new InputError(`${where}: database "${parsed.database}" does not exist`);
  if (code === 'ECONNREFUSED')
    return new AdapterError(`${where}: connection refused; is PostgreSQL listening there?`, { retryable: true });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new InputError(`${where}: host "${parsed.host}" not found`);
  return new AdapterError(`${where}: cannot connect: ${safe}`, { retryable: true });
}
