/**
 * Building blocks shared by cutover, failback and their undos: fence a writer and wait until the
 * other side has everything it wrote; open a writer and measure how long writes were refused;
 * reverse replication on and off.
 */
import type { StepContext } from '../data-plane.js';
import { fenceSite, unfenceSite } from './fence.js';
import { awaitMarker, writeMarker, type Direction } from './marker.js';
import { syncSequences } from './sequences.js';
import type { SequenceInfo } from './catalog.js';
import { other, planTables, withSite, withSites, type PgEnv, type Site } from './session.js';
import { dropPublication, dropSubscription, ensurePublication, ensureSubscription } from './subscription.js';
import { dropRunRole, runRoleConninfo } from './replication-connect.js';
import './events.js';

/** The direction whose publisher is `site`. */
export function directionFrom(site: Site): Direction {
  return site === 'source' ? 'forward' : 'reverse';
}

/** Fences `site`'s application writes (drained, marker under the lock); remembers when. Idempotent. */
export async function fenceWriter(
  ctx: StepContext,
  env: PgEnv,
  site: Site,
  stateKey: string,
): Promise<Record<string, unknown>> {
  return withSites(ctx, env, async (sessions) => {
    const tables = await planTables(ctx, env, sessions.source);
    const before = Date.now();
    const fence = await fenceSite(sessions[site], env.names(ctx), site, tables, {
      method: env.entry.fence?.method ?? 'revoke',
      roles: env.entry.fence?.roles,
      drainMs: env.options.fenceDrainMs,
      requireEffect: true,
      marker: directionFrom(site),
    });
    if (ctx.state.get<number>(stateKey) === undefined) ctx.state.set(stateKey, before);
    const grants = fence.record.grants.length + fence.record.roleSettings.length;
    ctx.events.emit('pg-fenced', {
      database: env.entry.database,
      site,
      method: fence.record.method,
      grants,
      terminated: fence.terminated,
    });
    return { site, method: fence.record.method, grants, terminated: fence.terminated, marker: fence.marker };
  });
}

/** Writes a marker on `publisher` (fenced) and waits until the other side shows it. */
export async function catchUp(
  ctx: StepContext,
  env: PgEnv,
  publisher: Site,
  timeoutMs = env.options.markerTimeoutMs,
): Promise<{ marker: number; waitedMs: number }> {
  return withSites(ctx, env, async (sessions) => {
    const names = env.names(ctx);
    const direction = directionFrom(publisher);
    const seq = await writeMarker(sessions[publisher], names, direction);
    const waitedMs = await awaitMarker(sessions[other(publisher)], names, direction, seq, {
      timeoutMs,
      pollMs: env.options.pollMs,
      signal: ctx.signal,
      where: other(publisher),
    });
    ctx.events.emit('pg-marker-seen', { database: env.entry.database, direction, seq, waitedMs });
    return { marker: seq, waitedMs };
  });
}

/** Sets the new writer's sequences from the old writer's (the ones in `known` when given: described before the hold). */
export async function syncFrom(
  ctx: StepContext,
  env: PgEnv,
  from: Site,
  known?: readonly SequenceInfo[],
): Promise<Record<string, unknown>> {
  return withSites(ctx, env, async (sessions) => {
    const tables = await planTables(ctx, env, sessions.source);
    const synced = await syncSequences(sessions[from], sessions[other(from)], tables, known);
    ctx.events.emit('pg-sequences-synced', { database: env.entry.database, from, sequences: synced.length });
    return { sequences: synced };
  });
}

/** Lifts `site`'s fence; returns how long writes were refused since `fencedKey` was recorded. */
export async function openWriter(
  ctx: StepContext,
  env: PgEnv,
  site: Site,
  fencedKey: string,
): Promise<Record<string, unknown>> {
  return withSite(ctx, env, site, async (client) => {
    const done = await unfenceSite(client, env.names(ctx), site);
    const openedKey = `${fencedKey}.opened`;
    if (done && ctx.state.get<number>(openedKey) === undefined) ctx.state.set(openedKey, Date.now());
    const fencedAt = ctx.state.get<number>(fencedKey);
    const openedAt = ctx.state.get<number>(openedKey);
    const writesRefusedMs = fencedAt !== undefined && openedAt !== undefined ? Math.max(0, openedAt - fencedAt) : null;
    ctx.events.emit('pg-unfenced', {
      database: env.entry.database,
      site,
      grants: done?.record.grants.length ?? 0,
      writesRefusedMs,
    });
    return { site, restored: done?.record.grants.length ?? 0, writesRefusedMs };
  });
}

/** Reverse replication (source ← target): publication on the target, subscription on the source, no copy. */
export async function startReverse(ctx: StepContext, env: PgEnv): Promise<void> {
  await withSites(ctx, env, async ({ source, target }) => {
    const names = env.names(ctx);
    const tables = await planTables(ctx, env, source);
    await ensurePublication(target, names.reverse, tables, names.marker);
    const { oid, created } = await ensureSubscription(source, target, {
      name: names.reverse,
      publication: names.reverse,
      conninfo: runRoleConninfo(ctx, env, target, 'reverse', tables),
      copyData: false,
      originNone: true,
    });
    ctx.state.set(env.key('reverse-oid'), oid);
    if (created)
      ctx.events.emit('pg-replication-changed', {
        database: env.entry.database,
        what: 'subscription',
        name: names.reverse,
        action: 'created',
      });
  });
}

/**
 * Before the fence: the reverse publication on the target, and when the source can subscribe with
 * origin = none (PostgreSQL 16+), the reverse subscription too: changes the forward subscription
 * applied on the target carry an origin and are never sent back, and the application cannot write
 * on the fenced target, so nothing flows until the target opens. This takes slot creation (the
 * slowest part of starting reverse replication) out of the time writes are refused. Older sources
 * get their subscription inside the fence, after forward replication is retired.
 */
export async function prepareReverse(ctx: StepContext, env: PgEnv): Promise<{ subscriptionEarly: boolean }> {
  const early = await withSites(ctx, env, async ({ source, target }) => {
    const names = env.names(ctx);
    const tables = await planTables(ctx, env, source);
    await ensurePublication(target, names.reverse, tables, names.marker);
    const v = await source.query<{ v: string }>(`select current_setting('server_version_num') as v`);
    return Number(v.rows[0]?.v ?? 0) >= 160000;
  });
  if (early) {
    await startReverse(ctx, env);
    ctx.state.set(env.key(REVERSE_STARTED_EARLY), true);
  }
  return { subscriptionEarly: early };
}

export async function stopReverse(ctx: StepContext, env: PgEnv): Promise<void> {
  await withSites(ctx, env, async ({ source, target }) => {
    const names = env.names(ctx);
    await dropSubscription(source, target, names.reverse, ctx.state.get<number>(env.key('reverse-oid')));
    await dropRunRole(ctx, env, target, 'reverse');
    await dropPublication(target, names.reverse);
  });
  if (ctx.state.get<boolean>(env.key(REVERSE_STARTED_EARLY))) ctx.state.set(env.key(REVERSE_STARTED_EARLY), false);
}

/** Run-state key: reverse replication was started before the hold (`prepareReverse`) and not stopped since. */
export const REVERSE_STARTED_EARLY = 'reverse-started-early';
