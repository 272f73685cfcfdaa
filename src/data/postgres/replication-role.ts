/**
 * The role a run's subscription connects as: created by handoff on the publisher for this run and
 * this direction, with the least a logical replication walsender needs (LOGIN REPLICATION, USAGE on
 * the tables' schemas and handoff's, SELECT on the plan's tables and the marker table), and a random
 * password set as a SCRAM verifier (the plain password is only in memory, registered with the
 * redactor, and in the subscription's connection string). So rotating the application's password
 * cannot break replication (pglogical #317). The role lives exactly as long as its subscription:
 * made just before the subscription, dropped just after it (cutover, failback, finalize and undo).
 */
import pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { HANDOFF_SCHEMA } from './catalog.js';
import { quoteTable, type TableName } from './connect.js';
import type { ObjectNames } from './names.js';
import { randomPassword, scramVerifier } from './scram.js';

/** `<base>_repl` (forward, on the source) and `<base>_rev_repl` (reverse, on the target); never an application role. */
export function replicationRoleName(names: ObjectNames, direction: 'forward' | 'reverse'): string {
  return `${direction === 'forward' ? names.forward : names.reverse}_repl`;
}

/**
 * Creates the role (or gives it a fresh password when a replay finds it) and its grants on the
 * publisher; returns the password. Call only when the subscription does not exist yet: a new
 * password would stop an existing subscription from reconnecting.
 */
export async function ensureReplicationRole(
  publisher: pg.Client,
  role: string,
  tables: readonly TableName[],
  markerTable: string,
  redactor: Redactor,
): Promise<string> {
  const password = randomPassword();
  redactor.add(password);
  const verifier = scramVerifier(password);
  const name = pg.escapeIdentifier(role);
  const exists = await publisher.query(`select 1 from pg_roles where rolname = $1`, [role]);
  try {
    await publisher.query(
      `${exists.rowCount ? 'alter' : 'create'} role ${name} login replication noinherit password ${pg.escapeLiteral(verifier)}`,
    );
  } catch (error) {
    throw new AdapterError(
      `cannot create the replication role ${role} on the publisher (${(error as Error).message}); handoff's user needs CREATEROLE and REPLICATION (or SUPERUSER) there`,
      { cause: error },
    );
  }
  const schemas = [...new Set([...tables.map((t) => t.schema), HANDOFF_SCHEMA])].map((s) => pg.escapeIdentifier(s));
  await publisher.query(`grant usage on schema ${schemas.join(', ')} to ${name}`);
  await publisher.query(`grant select on table ${[...tables.map(quoteTable), markerTable].join(', ')} to ${name}`);
  return password;
}

/** The publisher's URL with the run's role and password in place of handoff's own user. */
export function urlAs(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/**
 * Drops the role if it exists: ends its sessions, revokes what it was granted in this database
 * (DROP OWNED: it owns nothing), then drops it. Idempotent.
 */
export async function dropReplicationRole(publisher: pg.Client, role: string): Promise<boolean> {
  const exists = await publisher.query(`select 1 from pg_roles where rolname = $1`, [role]);
  if (!exists.rowCount) return false;
  await publisher.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role]);
  await publisher.query(`drop owned by ${pg.escapeIdentifier(role)}`);
  await publisher.query(`drop role if exists ${pg.escapeIdentifier(role)}`);
  return true;
}
