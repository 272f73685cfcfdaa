/**
 * Pure parsers for what users type about PostgreSQL: database URLs and table names. No driver here,
 * so plan validation (`handoff validate`) can check them without loading `pg`.
 */
import { InputError } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';

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
    throw new InputError(
      `${what}: not a URL; write postgresql://USER@HOST:PORT/DATABASE (password from PGPASSWORD or an environment variable)`,
    );
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new InputError(
      `${what}: scheme "${url.protocol.replace(/:$/, '')}" is not postgresql; write postgresql://USER@HOST:PORT/DATABASE`,
    );
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

/**
 * Refuses a source and a target that name the same database (same host, port and database name):
 * nothing could be migrated, and a repair or a fence would act on the one database both name.
 * Host names are compared as written (two names of one server are not found out here).
 */
export function requireDistinctDatabases(source: string, target: string, what = '--source and --target'): void {
  let a: ParsedDatabaseUrl;
  let b: ParsedDatabaseUrl;
  try {
    a = parseDatabaseUrl(source, 'source');
    b = parseDatabaseUrl(target, 'target');
  } catch {
    return; // a URL that does not parse is reported where it is used, under its own flag
  }
  if (a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port && a.database === b.database) {
    throw new InputError(
      `${what} name the same database (${a.host}:${a.port}/${a.database}); give the source's and the target's`,
    );
  }
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
    throw new InputError(
      `${what}: "${text}" is not a table name; write schema.table (quote unusual names: "My Schema"."Orders")`,
    );
  }
  const first = match[1] !== undefined ? match[1].replace(/""/g, '"') : (match[2] as string).toLowerCase();
  if (match[3] === undefined && match[4] === undefined) return { schema: 'public', name: first };
  const second = match[3] !== undefined ? match[3].replace(/""/g, '"') : (match[4] as string).toLowerCase();
  return { schema: first, name: second };
}

/** An identifier quoted for SQL, as PostgreSQL's quote_ident does for any name. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteTable(table: TableName): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
}

export function formatTable(table: TableName): string {
  const plain = (s: string): string => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return `${plain(table.schema)}.${plain(table.name)}`;
}
