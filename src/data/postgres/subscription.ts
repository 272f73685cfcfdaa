/**
 * Publications and subscriptions, created and dropped idempotently. A subscription's slot lives on
 * the publisher; a replay after a crash may find the slot without the subscription (dropped here
 * first), and a drop may find the subscription without its slot (detached with slot_name = NONE).
 */
import pg from 'pg';
import { AdapterError, TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import { quoteTable, type TableName } from './connect.js';

export async function ensurePublication(
  client: pg.Client,
  name: string,
  tables: readonly TableName[],
  markerTable: string,
): Promise<boolean> {
  const list = [...tables.map(quoteTable), markerTable].join(', ');
  const exists = await client.query(`select 1 from pg_publication where pubname = $1`, [name]);
  if (exists.rowCount) {
    await client.query(`alter publication ${pg.escapeIdentifier(name)} set table ${list}`);
    return false;
  }
  await client.query(`create publication ${pg.escapeIdentifier(name)} for table ${list}`);
  return true;
}

export async function dropPublication(client: pg.Client, name: string): Promise<void> {
  await client.query(`drop publication if exists ${pg.escapeIdentifier(name)}`);
}

export interface SubscriptionOptions {
  name: string;
  publication: string;
  /**
   * The publisher's connection string as the subscriber's server sees it (stored in pg_subscription);
   * a function is called only when the subscription is to be created (it may create a role for it).
   */
  conninfo: string | (() => Promise<string>);
  copyData: boolean;
  /** Skip changes that themselves arrived by replication (origin = none); PostgreSQL 16+ subscribers only. */
  originNone: boolean;
  /** Use this existing slot on the publisher (create_slot = false) instead of creating one named like the subscription. */
  existingSlot?: string;
  /** Created disabled (`enabled = false`): no worker starts until it is enabled. Default: enabled. */
  enabled?: boolean;
}

async function subscriptionOid(subscriber: pg.Client, name: string): Promise<number | null> {
  const r = await subscriber.query<{ oid: number }>(
    `select oid::int as oid from pg_subscription where subname = $1 and subdbid = (select oid from pg_database where datname = current_database())`,
    [name],
  );
  return r.rows[0]?.oid ?? null;
}

/** Creates the subscription unless it exists; returns its oid and whether this call created it. */
export async function ensureSubscription(
  subscriber: pg.Client,
  publisher: pg.Client,
  options: SubscriptionOptions,
): Promise<{ oid: number; created: boolean }> {
  const existing = await subscriptionOid(subscriber, options.name);
  if (existing !== null) return { oid: existing, created: false };
  // A slot without its subscription: a crash after the slot was made, or a subscription dropped
  // with slot_name = NONE. Nothing consumes it; drop it so the new subscription can create its own.
  // A slot made on purpose for it (the chunked copy's, whose snapshot the copy used) is kept.
  if (options.existingSlot === undefined) await dropSlot(publisher, options.name, 10_000);
  const major = Math.floor(
    Number((await subscriber.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]?.v) /
      10000,
  );
  const withOptions = [`copy_data = ${options.copyData}`, `streaming = ${major >= 16 ? 'parallel' : 'on'}`];
  if (options.existingSlot !== undefined)
    withOptions.push('create_slot = false', `slot_name = ${pg.escapeLiteral(options.existingSlot)}`);
  if (options.enabled === false) withOptions.push('enabled = false');
  if (options.originNone && major >= 16) withOptions.push('origin = none');
  // From PostgreSQL 16 the apply worker writes as each table's owner unless run_as_owner; when the
  // application owns its tables, the fence (revoked from the owner too) would stop replication.
  if (major >= 16) withOptions.push('run_as_owner = true');
  // Failover slots (17+ on both ends): the slot follows the publisher to a standby that syncs slots.
  const publisherMajor = Math.floor(
    Number((await publisher.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]?.v) /
      10000,
  );
  if (major >= 17 && publisherMajor >= 17) withOptions.push('failover = true');
  const conninfo = typeof options.conninfo === 'string' ? options.conninfo : await options.conninfo();
  await subscriber.query(
    `create subscription ${pg.escapeIdentifier(options.name)} connection ${pg.escapeLiteral(conninfo)}
       publication ${pg.escapeIdentifier(options.publication)} with (${withOptions.join(', ')})`,
  );
  const oid = await subscriptionOid(subscriber, options.name);
  if (oid === null) throw new AdapterError(`subscription ${options.name} is missing right after it was created`);
  return { oid, created: true };
}

/**
 * Drops a subscription and its slot. When the publisher cannot drop the slot (gone, unreachable),
 * the subscription is detached from it (DISABLE; SET (slot_name = NONE)) and dropped, and the slot
 * is dropped directly when the publisher is reachable. Also drops table-sync slots left behind.
 */
export async function dropSubscription(
  subscriber: pg.Client,
  publisher: pg.Client | null,
  name: string,
  knownOid?: number,
): Promise<void> {
  const oid = (await subscriptionOid(subscriber, name)) ?? knownOid ?? null;
  if ((await subscriptionOid(subscriber, name)) !== null) {
    const sub = pg.escapeIdentifier(name);
    try {
      await subscriber.query(`drop subscription ${sub}`);
    } catch {
      await subscriber.query(`alter subscription ${sub} disable`);
      await subscriber.query(`alter subscription ${sub} set (slot_name = none)`);
      await subscriber.query(`drop subscription ${sub}`);
    }
  }
  if (!publisher) return;
  await dropSlot(publisher, name, 15_000);
  if (oid !== null) {
    const sync = await publisher.query<{ slot_name: string }>(
      `select slot_name from pg_replication_slots where slot_name like $1`,
      [`pg\\_${oid}\\_sync\\_%`],
    );
    for (const row of sync.rows) await dropSlot(publisher, row.slot_name, 15_000);
  }
}

/** Drops a slot if it exists; a walsender still using it (shutting down) is waited for, then ended. */
export async function dropSlot(publisher: pg.Client, slot: string, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const r = await publisher.query<{ active: boolean; pid: number | null }>(
      `select active, active_pid as pid from pg_replication_slots where slot_name = $1`,
      [slot],
    );
    const row = r.rows[0];
    if (!row) return;
    if (!row.active) {
      try {
        await publisher.query(`select pg_drop_replication_slot($1)`, [slot]);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '42704') return; // dropped meanwhile
        if (code !== '55006') throw error; // 55006: became active again
      }
    } else if (Date.now() > deadline - boundMs / 2 && row.pid) {
      await publisher.query(`select pg_terminate_backend($1)`, [row.pid]);
    }
    if (Date.now() > deadline)
      throw new TimeoutError(`replication slot ${slot} stayed in use for ${boundMs} ms; cannot drop it`);
    await sleep(100);
  }
}

export async function setSubscriptionEnabled(subscriber: pg.Client, name: string, enabled: boolean): Promise<void> {
  if ((await subscriptionOid(subscriber, name)) === null) return;
  await subscriber.query(`alter subscription ${pg.escapeIdentifier(name)} ${enabled ? 'enable' : 'disable'}`);
}

export interface TableSyncState {
  table: string;
  /** i init, d copying, f copied, s synchronized, r ready. */
  state: string;
  rowsCopied: number | null;
}

export interface SubscriptionProgress {
  tables: TableSyncState[];
  ready: boolean;
  applyErrors: number;
  syncErrors: number;
}

export async function subscriptionProgress(subscriber: pg.Client, name: string): Promise<SubscriptionProgress> {
  const oid = await subscriptionOid(subscriber, name);
  if (oid === null) throw new AdapterError(`subscription ${name} does not exist on the subscriber`);
  const r = await subscriber.query<{ table: string; state: string; copied: string | null }>(
    `select format('%I.%I', n.nspname, c.relname) as table, r.srsubstate::text as state, p.tuples_processed::text as copied
       from pg_subscription_rel r join pg_class c on c.oid = r.srrelid join pg_namespace n on n.oid = c.relnamespace
       left join pg_stat_progress_copy p on p.relid = r.srrelid
      where r.srsubid = $1 order by 1`,
    [oid],
  );
  const major = Math.floor(
    Number((await subscriber.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]?.v) /
      10000,
  );
  let applyErrors = 0;
  let syncErrors = 0;
  if (major >= 15) {
    const s = await subscriber.query<{ a: string; s: string }>(
      `select apply_error_count::text as a, sync_error_count::text as s from pg_stat_subscription_stats where subid = $1`,
      [oid],
    );
    applyErrors = Number(s.rows[0]?.a ?? 0);
    syncErrors = Number(s.rows[0]?.s ?? 0);
  }
  const tables = r.rows.map((row) => ({
    table: row.table,
    state: row.state,
    rowsCopied: row.copied === null ? null : Number(row.copied),
  }));
  return { tables, ready: tables.every((t) => t.state === 'r' || t.state === 's'), applyErrors, syncErrors };
}

export async function subscriptionExists(subscriber: pg.Client, name: string): Promise<boolean> {
  return (await subscriptionOid(subscriber, name)) !== null;
}
