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
import type { SequenceInfo } from './catalog.js';
import type { RecheckCatalog } from './verify/recheck-keys.js';

export type Site = 'source' | 'target';

export interface PgEnv {
  entry: DataSpec;
  options: Required<Omit<PostgresDataPlaneOptions, 'subscriptionConnection'>> &
    Pick<PostgresDataPlaneOptions, 'subscriptionConnection'>;
  names(ctx: StepContext): ObjectNames;
  key(what: string): string;
  /** Sessions kept between the steps of one list (a cutover's steps run back to back). */
  pool: SessionPool;
  /** What the cutover's fenced steps would otherwise read from the catalogs first (`HoldCatalog`). */
  holdCatalog: { current: HoldCatalog | null };
}

/**
 * Catalog facts the steps under the cutover's hold need before they can act: the sequences to sync
 * and the dirty-key re-check's table plans and hash functions. Read by the last step before the
 * hold, so that under it only the values are read (every round trip there is write pause). Kept in
 * memory only and used only by the same run within `HOLD_CATALOG_MAX_AGE_MS`: a resumed run, or a
 * hold taken later than that, reads them again under the hold.
 */
export interface HoldCatalog {
  runId: string;
  readAt: number;
  sequences: SequenceInfo[];
  recheck: RecheckCatalog;
}

export const HOLD_CATALOG_MAX_AGE_MS = 30_000;

/** The hold catalog read for this run less than `HOLD_CATALOG_MAX_AGE_MS` ago, or null. */
export function freshHoldCatalog(ctx: StepContext, env: PgEnv, now = Date.now()): HoldCatalog | null {
  const held = env.holdCatalog.current;
  if (!held || held.runId !== ctx.runId) return null;
  const age = now - held.readAt;
  return age >= 0 && age <= HOLD_CATALOG_MAX_AGE_MS ? held : null;
}

export function other(site: Site): Site {
  return site === 'source' ? 'target' : 'source';
}

/**
 * Keeps one session per site between consecutive steps, so a cutover does not pay a connection
 * (TCP, SCRAM, pinned settings) per step while writes are refused. A session is closed after
 * `idleMs` unused, and dropped after any error (it may be broken; the next step opens a fresh one).
 */
export interface SessionPool {
  acquire(ctx: StepContext, env: PgEnv, site: Site): Promise<pg.Client>;
  release(site: Site, client: pg.Client, failed: boolean): void;
  close(): Promise<void>;
}

export function createSessionPool(idleMs = 2000): SessionPool {
  const idle = new Map<string, { client: pg.Client; timer: NodeJS.Timeout }>();
  const key = (ctx: StepContext, env: PgEnv, site: Site): string =>
    `${ctx.runId}\u0000${site}\u0000${ctx.secrets.databaseUrl(site, env.entry.database)}`;
  const keys = new Map<pg.Client, string>();
  return {
    async acquire(ctx, env, site) {
      const k = key(ctx, env, site);
      const cached = idle.get(k);
      if (cached) {
        idle.delete(k);
        clearTimeout(cached.timer);
        return cached.client;
      }
      const url = ctx.secrets.databaseUrl(site, env.entry.database);
      const client = await connect(url, {
        name: `${site} database ${env.entry.database}`,
        redactor: ctx.redactor,
        applicationName: `handoff-${ctx.stage}`,
        statementTimeoutMs: env.options.statementTimeoutMs,
        // The steps' statements are catalog reads, markers and key lookups (the cutover's re-check).
        serial: true,
      });
      keys.set(client, k);
      return client;
    },
    release(_site, client, failed) {
      const k = keys.get(client);
      if (failed || k === undefined || idle.has(k)) {
        keys.delete(client);
        void client.end().catch(() => undefined);
        return;
      }
      const timer = setTimeout(() => {
        idle.delete(k);
        keys.delete(client);
        void client.end().catch(() => undefined);
      }, idleMs);
      timer.unref();
      idle.set(k, { client, timer });
    },
    async close() {
      const all = [...idle.values()];
      idle.clear();
      for (const { timer } of all) clearTimeout(timer);
      await Promise.all(all.map(({ client }) => client.end().catch(() => undefined)));
    },
  };
}

export async function withSites<T>(
  ctx: StepContext,
  env: PgEnv,
  fn: (sessions: { source: pg.Client; target: pg.Client }) => Promise<T>,
): Promise<T> {
  const [a, b] = await Promise.allSettled([env.pool.acquire(ctx, env, 'source'), env.pool.acquire(ctx, env, 'target')]);
  if (a.status === 'rejected' || b.status === 'rejected') {
    if (a.status === 'fulfilled') env.pool.release('source', a.value, true);
    if (b.status === 'fulfilled') env.pool.release('target', b.value, true);
    throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
  }
  let failed = false;
  try {
    return await fn({ source: a.value, target: b.value });
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    env.pool.release('source', a.value, failed);
    env.pool.release('target', b.value, failed);
  }
}

export async function withSite<T>(
  ctx: StepContext,
  env: PgEnv,
  site: Site,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await env.pool.acquire(ctx, env, site);
  let failed = false;
  try {
    return await fn(client);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    env.pool.release(site, client, failed);
  }
}

/** The entry's tables as resolved on the source, remembered in the run state on first use. */
export async function planTables(ctx: StepContext, env: PgEnv, source: pg.Client): Promise<TableName[]> {
  const key = env.key('tables');
  const known = ctx.state.get<TableName[]>(key);
  if (known) return known;
  const resolved = await resolveTables(
    source,
    env.entry.tables.map((t) => parseTablePattern(t, 'spec.data[].tables')),
  );
  if (resolved.missing.length > 0) {
    throw new InputError(
      `spec.data[].tables: ${resolved.missing.map(formatTable).join(', ')} does not exist on the source database ${env.entry.database}`,
    );
  }
  if (resolved.tables.length === 0) {
    throw new InputError(
      `spec.data[].tables: ${env.entry.tables.join(', ')} matches no table on the source database ${env.entry.database}`,
    );
  }
  const tables = resolved.tables.map((r) => r.table);
  ctx.state.set(key, tables);
  return tables;
}

/** The tables remembered by an earlier step, or an empty list (undo and finalize must not need the source). */
export function rememberedTables(ctx: StepContext, env: PgEnv): TableName[] {
  return ctx.state.get<TableName[]>(env.key('tables')) ?? [];
}
