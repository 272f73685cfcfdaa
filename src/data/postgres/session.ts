/**
 * What every PostgreSQL step shares: the plan entry, object names, options, sessions to either
 * site, and the list of tables, resolved once per run and kept in the run's state so that a replay
 * after a crash works on exactly the same tables.
 */
import type pg from 'pg';
import type { DataSpec } from '../../plan/schema.js';
import type { StepContext } from '../data-plane.js';
import { InputError } from '../../common/errors.js';
import { connect, formatTable, type TableName } from './connect.js';
import { parseTablePattern, resolveTables } from './catalog.js';
import type { ObjectNames } from './names.js';
import type { PostgresDataPlaneOptions } from './options.js';

export type Site = 'source' | 'target';

export interface PgEnv {
  entry: DataSpec;
  options: Required<Omit<PostgresDataPlaneOptions, 'subscriptionConnection' | 'recheck'>> & Pick<PostgresDataPlaneOptions, 'subscriptionConnection' | 'recheck'>;
  names(ctx: StepContext): ObjectNames;
  key(what: string): string;
}

export function other(site: Site): Site {
  return site === 'source' ? 'target' : 'source';
}

/** Opens a session to one site's database; the caller ends it (use `withSessions`). */
export async function openSite(ctx: StepContext, env: PgEnv, site: Site): Promise<pg.Client> {
  const url = ctx.secrets.databaseUrl(site, env.entry.database);
  return connect(url, {
    name: `${site} database ${env.entry.database}`,
    redactor: ctx.redactor,
    applicationName: `handoff-${ctx.stage}`,
    statementTimeoutMs: env.options.statementTimeoutMs,
  });
}

export async function withSites<T>(
  ctx: StepContext,
  env: PgEnv,
  fn: (sessions: { source: pg.Client; target: pg.Client }) => Promise<T>,
): Promise<T> {
  const [source, target] = await Promise.all([openSite(ctx, env, 'source'), openSite(ctx, env, 'target')]);
  try {
    return await fn({ source, target });
  } finally {
    await Promise.all([source.end().catch(() => undefined), target.end().catch(() => undefined)]);
  }
}

export async function withSite<T>(ctx: StepContext, env: PgEnv, site: Site, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await openSite(ctx, env, site);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The entry's tables as resolved on the source, remembered in the run state on first use. */
export async function planTables(ctx: StepContext, env: PgEnv, source: pg.Client): Promise<TableName[]> {
  const key = env.key('tables');
  const known = ctx.state.get<TableName[]>(key);
  if (known) return known;
  const resolved = await resolveTables(source, env.entry.tables.map((t) => parseTablePattern(t, 'spec.data[].tables')));
  if (resolved.missing.length > 0) {
    throw new InputError(`spec.data[].tables: ${resolved.missing.map(formatTable).join(', ')} does not exist on the source database ${env.entry.database}`);
  }
  if (resolved.tables.length === 0) {
    throw new InputError(`spec.data[].tables: ${env.entry.tables.join(', ')} matches no table on the source database ${env.entry.database}`);
  }
  const tables = resolved.tables.map((r) => r.table);
  ctx.state.set(key, tables);
  return tables;
}

/** The tables remembered by an earlier step, or an empty list (undo and finalize must not need the source). */
export function rememberedTables(ctx: StepContext, env: PgEnv): TableName[] {
  return ctx.state.get<TableName[]>(env.key('tables')) ?? [];
}
