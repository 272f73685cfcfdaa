/**
 * The sql provider: one query per site against the site's database, returning one number (for
 * example replication lag, or a business invariant such as a balance total). The query runs in a
 * READ ONLY transaction with a statement timeout, over the extended protocol (so it is exactly one
 * statement: `select 1; commit; delete ...` is refused), on a session with the pinned settings.
 * One row with one numeric column is the value; no row or NULL is NoData; anything else is Error.
 * The connection is kept between measurements and reopened after a failure.
 */
import type pg from 'pg';
import { InternalError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { connect } from '../../data/postgres/connect.js';
import type { Measurement, MeasureRequest, SiteName, SiteReading } from '../measurement.js';
import { noData, readingError } from '../measurement.js';
import type { MetricProvider } from '../provider.js';

export interface SqlProviderOptions {
  /** Each site's database URL (resolved secret); a site without one reports NoData. */
  databases: Partial<Record<SiteName, string>>;
  query: string;
  /** Bound on the query; 5 s. */
  statementTimeoutMs?: number;
  /** Bound on connecting; 5 s. */
  connectTimeoutMs?: number;
}

export function createSqlProvider(
  options: SqlProviderOptions,
  deps: { redactor?: Redactor; now?: () => number } = {},
): MetricProvider {
  const now = deps.now ?? Date.now;
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const clients = new Map<SiteName, pg.Client>();
  const safe = (text: string): string => (deps.redactor ? deps.redactor.redact(text) : text);
  let state: 'new' | 'started' | 'stopped' = 'new';

  async function client(site: SiteName, url: string): Promise<pg.Client> {
    const existing = clients.get(site);
    if (existing) return existing;
    const c = await connect(url, {
      name: `${site} database (sql check)`,
      connectTimeoutMs,
      applicationName: 'handoff-analysis',
      ...(deps.redactor ? { redactor: deps.redactor } : {}),
    });
    clients.set(site, c);
    return c;
  }

  async function drop(site: SiteName): Promise<void> {
    const c = clients.get(site);
    clients.delete(site);
    await c?.end().catch(() => undefined);
  }

  async function queryOne(site: SiteName): Promise<SiteReading> {
    const url = options.databases[site];
    if (!url) return noData(`no database for the ${site}`);
    let c: pg.Client;
    try {
      c = await client(site, url);
    } catch (error) {
      return readingError(safe(messageOf(error)));
    }
    let rows: Array<Record<string, unknown>>;
    let columns: number;
    try {
      await c.query('BEGIN READ ONLY');
      await c.query(`SELECT set_config('statement_timeout', $1, true)`, [String(statementTimeoutMs)]);
      // queryMode is pg's (8.10+) but missing from @types/pg: the extended protocol runs exactly one statement.
      const config: pg.QueryConfig & { queryMode: 'extended' } = { text: options.query, queryMode: 'extended' };
      const result = await c.query(config);
      rows = result.rows as Array<Record<string, unknown>>;
      columns = result.fields.length;
      await c.query('ROLLBACK');
    } catch (error) {
      const code = (error as { code?: string }).code;
      await c.query('ROLLBACK').catch(() => drop(site));
      if (!code) await drop(site); // connection-level failure: reconnect next time
      const why = code === '57014' ? `the query ran longer than ${statementTimeoutMs} ms` : messageOf(error);
      const permanent = code !== undefined && /^(42|25|22)/.test(code); // syntax/permission, read-only violation, data
      return readingError(safe(`the ${site} database query failed: ${why}`), !permanent);
    }
    if (rows.length === 0) return noData('the query returned no row');
    if (rows.length > 1 || columns !== 1) {
      return readingError(
        `the query must return one row with one column; it returned ${rows.length} rows of ${columns} columns`,
        false,
      );
    }
    const raw = Object.values(rows[0] as Record<string, unknown>)[0];
    if (raw === null || raw === undefined) return noData('the query returned NULL');
    const value =
      typeof raw === 'number' ? raw : typeof raw === 'string' || typeof raw === 'bigint' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value))
      return readingError(`the query returned ${JSON.stringify(String(raw)).slice(0, 80)}, not a number`, false);
    return { status: 'ok', values: { value }, samples: 1 };
  }

  return {
    kind: 'sql',
    fields: ['value'],
    async start() {
      if (state === 'stopped') throw new InternalError('sql provider: start after stop');
      state = 'started';
    },
    async measure(request: MeasureRequest): Promise<Measurement> {
      if (state !== 'started') throw new InternalError(`sql provider: measure while ${state}`);
      const readings = await Promise.all(request.sites.map((s) => queryOne(s)));
      return {
        at: now(),
        windowMs: request.windowMs,
        sites: Object.fromEntries(request.sites.map((s, i) => [s, readings[i]])),
      };
    },
    async stop() {
      state = 'stopped';
      await Promise.all([...clients.keys()].map((s) => drop(s)));
    },
  };
}
