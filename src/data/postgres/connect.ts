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
}

/** Opens one session with pinned settings. The caller ends it. */
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
    for (const [key, value] of Object.entries(PINNED_SETTINGS)) {
      await client.query(`select set_config($1, $2, false)`, [key, value]);
    }
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
