/**
 * Connections to the user's databases: URL validation with messages that never carry the password,
 * bounded connects, and pinned session settings so that text output (used in hashes) is the same on
 * both sides whatever the servers' defaults are.
 */
import pg from 'pg';
import { AdapterError, InputError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';

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

export interface ParsedDatabaseUrl {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Present only in memory; never printed. */
  password: string | undefined;
  /** The URL with the password replaced, safe to print. */
  display: string;
}

/**
 * Parses and checks a PostgreSQL URL. `what` names it in messages (for example `--source`).
 * Registers the password with the redactor when one is given.
 */
export function parseDatabaseUrl(text: string, what: string, redactor?: Redactor): ParsedDatabaseUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(`${what}: not a URL; write postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or an environment variable)`);
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new InputError(`${what}: scheme "${url.protocol.replace(/:$/, '')}" is not postgresql; write postgresql://USER@HOST:PORT/DATABASE`);
  }
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  if (password && redactor) redactor.add(password);
  if (!url.hostname) throw new InputError(`${what}: the URL has no host`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new InputError(`${what}: the URL names no database (…/DATABASE at its end)`);
  const port = url.port === '' ? 5432 : Number(url.port);
  const user = decodeURIComponent(url.username) || 'postgres';
  const display = `postgresql://${encodeURIComponent(user)}${password ? ':***' : ''}@${url.host}/${encodeURIComponent(database)}`;
  return { host: url.hostname, port, database, user, password, display };
}

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
  const safe = options.redactor ? options.redactor.redact(raw) : parsed.password ? raw.split(parsed.password).join('***') : raw;
  const where = `${options.name} (${parsed.display})`;
  if (code === '28P01' || code === '28000') {
    return new InputError(`${where}: authentication failed for user "${parsed.user}"; check the password reference`);
  }
  if (code === '3D000') return new InputError(`${where}: database "${parsed.database}" does not exist`);
  if (code === 'ECONNREFUSED') return new AdapterError(`${where}: connection refused; is PostgreSQL listening there?`, { retryable: true });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new InputError(`${where}: host "${parsed.host}" not found`);
  return new AdapterError(`${where}: cannot connect: ${safe}`, { retryable: true });
}

/** A qualified table name, parsed and checked; never interpolated unquoted. */
export interface TableName {
  schema: string;
  name: string;
}

/**
 * Parses `schema.table` (or `table`, meaning public). Quoted parts (`"My Schema"."T"`) are allowed.
 * Refuses anything else, so nothing a user types reaches SQL unquoted.
 */
export function parseTableName(text: string, what = '--table'): TableName {
  const part = String.raw`(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))`;
  const match = new RegExp(`^${part}(?:\\.${part})?$`).exec(text.trim());
  if (!match) {
    throw new InputError(`${what}: "${text}" is not a table name; write schema.table (quote unusual names: "My Schema"."Orders")`);
  }
  const first = match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] as string).toLowerCase();
  if (match[3] === undefined && match[4] === undefined) return { schema: 'public', name: first };
  const second = match[3] !== undefined ? match[3].replace(/""/g, '"') : (match[4] as string).toLowerCase();
  return { schema: first, name: second };
}

export function quoteTable(table: TableName): string {
  return `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
}

export function formatTable(table: TableName): string {
  const plain = (s: string): string => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return `${plain(table.schema)}.${plain(table.name)}`;
}
