/**
 * What a finished run must not leave behind on a site's PostgreSQL server: replication slots,
 * publications, subscriptions, and replication processes (WAL senders, subscription workers).
 * Only handoff's own objects count (names starting `handoff_`), so other users' replication on a
 * shared server is not blamed on the run.
 */
import type pg from 'pg';

export async function leftBehindOn(site: string, client: pg.ClientBase): Promise<string[]> {
  const out: string[] = [];
  const list = async (what: string, sql: string): Promise<void> => {
    const rows = await client.query<{ name: string }>(sql);
    for (const row of rows.rows) out.push(`${site}: ${what} ${row.name}`);
  };
  await list(
    'replication slot',
    `select slot_name as name from pg_replication_slots where slot_name like 'handoff\\_%'`,
  );
  await list('publication', `select pubname as name from pg_publication where pubname like 'handoff\\_%'`);
  await list('subscription', `select subname as name from pg_subscription where subname like 'handoff\\_%'`);
  await list(
    'replication process',
    `select coalesce(application_name, 'pid ' || pid) as name from pg_stat_replication where application_name like 'handoff\\_%'`,
  );
  await list(
    'subscription worker',
    `select s.subname || ' (pid ' || w.pid || ')' as name from pg_stat_subscription w join pg_subscription s on s.oid = w.subid
     where w.pid is not null and s.subname like 'handoff\\_%'`,
  );
  return out;
}

/**
 * Tables of `tables` on which `role` may not insert, update or delete: a fence that stayed (the
 * writer must accept writes after the run).
 */
export async function refusedWrites(client: pg.ClientBase, role: string, tables: readonly string[]): Promise<string[]> {
  const rows = await client.query<{ name: string; privilege: string }>(
    `select t as name, p as privilege from unnest($2::text[]) t, unnest(array['INSERT', 'UPDATE', 'DELETE']) p
     where not has_table_privilege($1, t, p)`,
    [role, [...tables]],
  );
  return rows.rows.map((row) => `${row.name}: ${row.privilege.toLowerCase()} refused to ${role}`);
}
