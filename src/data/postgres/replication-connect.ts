/**
 * How a run's subscription reaches its publisher: as the run's own replication role
 * (replication-role.ts), made on the publisher just before the subscription and dropped just after it.
 */
import type pg from 'pg';
import type { StepContext } from '../data-plane.js';
import type { TableName } from './connect.js';
import { dropReplicationRole, ensureReplicationRole, replicationRoleName, urlAs } from './replication-role.js';
import type { PgEnv } from './session.js';
import './events.js';

type Direction = 'forward' | 'reverse';
const publisherOf = (direction: Direction): 'source' | 'target' => (direction === 'forward' ? 'source' : 'target');

/** The run's role on the publisher, as handoff reaches it (`url`) and as the subscriber's server does (`conninfo`). */
export interface RunRoleAccess {
  url: string;
  conninfo: string;
}

/**
 * Creates the run's role for the direction (or gives it a fresh password) and returns both ways to
 * reach the publisher as it. Call only when the direction's subscription does not exist yet.
 */
export async function runRoleAccess(
  ctx: StepContext,
  env: PgEnv,
  publisher: pg.Client,
  direction: Direction,
  tables: readonly TableName[],
): Promise<RunRoleAccess> {
  const names = env.names(ctx);
  const role = replicationRoleName(names, direction);
  const password = await ensureReplicationRole(publisher, role, tables, names.marker, ctx.redactor);
  ctx.events.emit('pg-replication-changed', {
    database: env.entry.database,
    what: 'role',
    name: role,
    action: 'created',
  });
  const site = publisherOf(direction);
  const url = urlAs(ctx.secrets.databaseUrl(site, env.entry.database), role, password);
  const conninfo = env.options.subscriptionConnection ? env.options.subscriptionConnection(site, url) : url;
  return { url, conninfo };
}

/**
 * The subscription's connection string, made when the subscription is about to be created: the
 * publisher's URL with the run's role and a fresh password, through `subscriptionConnection` if set.
 */
export function runRoleConninfo(
  ctx: StepContext,
  env: PgEnv,
  publisher: pg.Client,
  direction: Direction,
  tables: readonly TableName[],
): () => Promise<string> {
  return async () => (await runRoleAccess(ctx, env, publisher, direction, tables)).conninfo;
}

/** Drops the direction's role on its publisher (after its subscription is gone). Idempotent. */
export async function dropRunRole(
  ctx: StepContext,
  env: PgEnv,
  publisher: pg.Client,
  direction: Direction,
): Promise<void> {
  const role = replicationRoleName(env.names(ctx), direction);
  if (await dropReplicationRole(publisher, role))
    ctx.events.emit('pg-replication-changed', {
      database: env.entry.database,
      what: 'role',
      name: role,
      action: 'dropped',
    });
}
