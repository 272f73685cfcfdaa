/** Inspection helpers for data-plane tests: what handoff left behind, table digests, app URLs. */
import type { TestPostgres } from '../support/postgres.js';
import { APP_PASSWORD } from './workload.js';

/** Every replication object, handoff schema or handoff trigger on a server (empty when clean). */
export async function leftovers(server: TestPostgres, db: string): Promise<string[]> {
  const r = await server.query<{ what: string }>(
    `select 'slot ' || slot_name as what from pg_replication_slots
     union all select 'publication ' || pubname from pg_publication
     union all select 'subscription ' || subname from pg_subscription
     union all select 'schema ' || nspname from pg_namespace where nspname = 'handoff'
     union all select 'trigger ' || tgname from pg_trigger where tgname like 'handoff%'`,
    [],
    db,
  );
  return r.rows.map((row) => row.what);
}

/** count(*) and md5 of every row in key order: equal digests mean equal tables. */
export async function tableDigest(server: TestPostgres, db: string, table: string): Promise<{ n: string; h: string }> {
  const r = await server.query<{ n: string; h: string }>(
    `select count(*)::text as n, coalesce(md5(string_agg(md5(t::text), '' order by t::text)), '') as h from ${table} t`,
    [],
    db,
  );
  return r.rows[0] ?? { n: '0', h: '' };
}

export function appUrl(server: TestPostgres, db: string): string {
  return `postgresql://app:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${server.port}/${db}`;
}
