/**
 * Preflight checks about each server as a whole: version, wal_level, replication capacity,
 * privileges, WAL headroom, long transactions, large objects, extensions and collations.
 * Read-only.
 */
import type pg from 'pg';
import type { Finding } from '../../common/findings.js';
import type { RelationInfo } from './catalog.js';

export type Site = 'source' | 'target';

export interface ServerFacts {
  site: Site;
  major: number;
  version: string;
  settings: Record<string, string>;
  user: string;
  superuser: boolean;
  replication: boolean;
  /** May create roles (the run's replication role on each publisher). */
  createRole: boolean;
  /** PG 16+: member of pg_create_subscription. */
  createSubscription: boolean;
  slotsUsed: number;
  sendersUsed: number;
  workersUsed: number;
  database: string;
  collation: string;
  collationVersion: string | null;
  extensions: Map<string, string>;
  availableExtensions: Set<string>;
}

const SETTINGS = [
  'wal_level',
  'max_replication_slots',
  'max_wal_senders',
  'max_logical_replication_workers',
  'max_worker_processes',
  'max_sync_workers_per_subscription',
  'max_slot_wal_keep_size',
  'synchronous_commit',
];

export async function readServerFacts(client: pg.Client, site: Site): Promise<ServerFacts> {
  const settings = await client.query<{ name: string; setting: string }>(
    // reset_val: the server's (or the database's) own value, not the session's: handoff's sessions
    // raise synchronous_commit from off to local for themselves (connect.ts).
    `select name, reset_val as setting from pg_settings where name = any($1::text[])`,
    [SETTINGS],
  );
  const who = await client.query<{
    v: string;
    version: string;
    usr: string;
    rolsuper: boolean;
    rolreplication: boolean;
    rolcreaterole: boolean;
    createsub: boolean;
    db: string;
    coll: string;
  }>(
    `select current_setting('server_version_num') as v, current_setting('server_version') as version,
            current_user as usr, r.rolsuper, r.rolreplication, r.rolcreaterole,
            coalesce((select pg_has_role(current_user, oid, 'member') from pg_roles where rolname = 'pg_create_subscription'), false) as createsub,
            current_database() as db, (select datcollate from pg_database where datname = current_database()) as coll
       from pg_roles r where r.rolname = current_user`,
  );
  const row = who.rows[0];
  const major = Math.floor(Number(row?.v ?? '0') / 10000);
  const collVersion =
    major >= 15
      ? ((
          await client.query<{ v: string | null }>(
            `select datcollversion as v from pg_database where datname = current_database()`,
          )
        ).rows[0]?.v ?? null)
      : null;
  const usage = await client.query<{ slots: number; senders: number; workers: number }>(
    `select (select count(*) from pg_replication_slots)::int as slots,
            (select count(*) from pg_stat_replication)::int as senders,
            (select count(*) from pg_stat_activity where backend_type like 'logical replication%worker')::int as workers`,
  );
  const ext = await client.query<{ extname: string; extversion: string }>(
    `select extname, extversion from pg_extension`,
  );
  const avail = await client.query<{ name: string }>(`select name from pg_available_extensions`);
  return {
    site,
    major,
    version: row?.version ?? 'unknown',
    settings: Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])),
    user: row?.usr ?? 'unknown',
    superuser: row?.rolsuper ?? false,
    replication: row?.rolreplication ?? false,
    createRole: row?.rolcreaterole ?? false,
    createSubscription: row?.createsub ?? false,
    slotsUsed: usage.rows[0]?.slots ?? 0,
    sendersUsed: usage.rows[0]?.senders ?? 0,
    workersUsed: usage.rows[0]?.workers ?? 0,
    database: row?.db ?? '',
    collation: row?.coll ?? '',
    collationVersion: collVersion,
    extensions: new Map(ext.rows.map((r) => [r.extname, r.extversion])),
    availableExtensions: new Set(avail.rows.map((r) => r.name)),
  };
}

function num(facts: ServerFacts, name: string): number {
  return Number(facts.settings[name] ?? '0');
}

export function versionFindings(source: ServerFacts, target: ServerFacts): Finding[] {
  const notes: string[] = [];
  if (source.major < 18)
    notes.push('generated columns are not published before PostgreSQL 18 (the target computes its own)');
  if (target.major >= 16 && source.major < 16) {
    notes.push(
      'the source cannot subscribe with origin = none, so reverse replication relies on the forward subscription being retired first',
    );
  }
  if (source.major < 17)
    notes.push('the source has no failover slots (PostgreSQL 17+): an HA failover of the source loses the slot');
  notes.push('sequences are not replicated by PostgreSQL; handoff syncs them at cutover');
  const out: Finding[] = [
    {
      id: 'pg.version',
      severity: 'info',
      subject: 'source,target',
      message: `source PostgreSQL ${source.version}, target PostgreSQL ${target.version}; ${notes.join('; ')}`,
      remediation: '',
    },
  ];
  if (source.major < 10 || target.major < 10) {
    out.push({
      id: 'pg.version',
      severity: 'blocker',
      subject: source.major < 10 ? 'source' : 'target',
      message: 'native logical replication needs PostgreSQL 10 or later on both sides',
      remediation: 'upgrade the old server first (pg_upgrade) or migrate with pg_dump',
    });
  } else if (target.major < source.major) {
    out.push({
      id: 'pg.version',
      severity: 'warning',
      subject: 'target',
      message: `the target (${target.major}) is older than the source (${source.major}); features the schema uses may be missing`,
      remediation: 'prefer a target at least as new as the source',
    });
  }
  return out;
}

export function walLevelFindings(facts: ServerFacts): Finding[] {
  const level = facts.settings.wal_level ?? 'unknown';
  if (level === 'logical') return [];
  const why =
    facts.site === 'source'
      ? 'the source cannot publish changes'
      : 'reverse replication (failback) needs a publication on the target';
  return [
    {
      id: 'pg.wal-level',
      severity: 'blocker',
      subject: `${facts.site}: wal_level`,
      message: `wal_level is ${level} on the ${facts.site}, not logical; ${why}`,
      remediation: `set wal_level = logical on the ${facts.site} (ALTER SYSTEM SET wal_level = logical; managed services: rds.logical_replication = 1 or cloudsql.logical_decoding = on) and restart it`,
    },
  ];
}

/**
 * A server whose commits do not wait for the write-ahead log (`synchronous_commit = off`): allowed,
 * and handled (handoff's own sessions flush their markers, and verification tells rows still on
 * their way from divergence), but worth saying: on the source, its writers' changes reach the target
 * up to `wal_writer_delay` late, and a crash of that server itself can lose its last acknowledged
 * writes, with or without handoff.
 */
export function commitFindings(facts: ServerFacts): Finding[] {
  if (facts.settings.synchronous_commit !== 'off') return [];
  return [
    {
      id: 'pg.async-commit',
      severity: 'info',
      subject: `${facts.site}: synchronous_commit`,
      message:
        `synchronous_commit is off on the ${facts.site}: its commits are acknowledged before they are flushed, so they ` +
        `reach the other side only once the write-ahead log is (up to wal_writer_delay later), and a crash of this server ` +
        `can lose its last acknowledged writes whatever handoff does. handoff's own sessions commit with ` +
        `synchronous_commit = local, so the marker after the fence carries every write acknowledged before it across`,
      remediation: '',
    },
  ];
}

/**
 * Capacity for one forward subscription with its table-sync workers, and the reverse one at cutover:
 * each side both publishes (slots, senders) and subscribes (workers) at some point.
 */
export function capacityFindings(facts: ServerFacts): Finding[] {
  const sync = Math.max(1, num(facts, 'max_sync_workers_per_subscription') || 2);
  const out: Finding[] = [];
  const need = (name: string, free: number, required: number, what: string): void => {
    if (free >= required) return;
    out.push({
      id: 'pg.replication-capacity',
      severity: 'blocker',
      subject: `${facts.site}: ${name}`,
      message: `${name} on the ${facts.site} leaves ${free} free (${num(facts, name)} set, ${num(facts, name) - free} in use); handoff needs ${required} for ${what}`,
      remediation: `raise ${name} on the ${facts.site} by at least ${required - free} (needs a restart)`,
    });
  };
  const publishing = facts.site === 'source' ? 1 + sync : 1;
  need(
    'max_replication_slots',
    num(facts, 'max_replication_slots') - facts.slotsUsed,
    publishing,
    'its replication slot(s)',
  );
  need('max_wal_senders', num(facts, 'max_wal_senders') - facts.sendersUsed, publishing, 'its WAL sender(s)');
  const applying = facts.site === 'target' ? 1 + sync : 1;
  need(
    'max_logical_replication_workers',
    num(facts, 'max_logical_replication_workers') - facts.workersUsed,
    applying,
    'its apply and table-sync workers',
  );
  return out;
}

export function privilegeFindings(facts: ServerFacts, tables: readonly RelationInfo[]): Finding[] {
  if (facts.superuser) return [];
  const out: Finding[] = [];
  const notOwned = tables.filter((t) => t.owner !== facts.user).map((t) => `${t.table.schema}.${t.table.name}`);
  if (facts.site === 'source' && !facts.replication) {
    out.push({
      id: 'pg.privileges',
      severity: 'blocker',
      subject: `source: role ${facts.user}`,
      message: `role ${facts.user} on the source has neither SUPERUSER nor REPLICATION`,
      remediation: `ALTER ROLE ${facts.user} REPLICATION (managed services: grant rds_replication or the provider's replication role)`,
    });
  }
  if (facts.site === 'target' && !(facts.major >= 16 && facts.createSubscription)) {
    out.push({
      id: 'pg.privileges',
      severity: 'blocker',
      subject: `target: role ${facts.user}`,
      message: `role ${facts.user} on the target cannot create subscriptions`,
      remediation:
        facts.major >= 16
          ? `GRANT pg_create_subscription TO ${facts.user} and GRANT CREATE ON DATABASE ${facts.database} TO ${facts.user}`
          : 'connect as a superuser (PostgreSQL before 16 allows only superusers to create subscriptions)',
    });
  }
  if (!facts.createRole) {
    out.push({
      id: 'pg.privileges',
      severity: 'blocker',
      subject: `${facts.site}: role ${facts.user}`,
      message: `role ${facts.user} on the ${facts.site} cannot create roles; replication connects as a role handoff creates for the run on each publisher (${facts.site === 'source' ? 'forward' : 'reverse, after cutover'})`,
      remediation: `ALTER ROLE ${facts.user} CREATEROLE REPLICATION (PostgreSQL 16+: a role with REPLICATION can only be created by one that has it)`,
    });
  }
  if (notOwned.length > 0) {
    out.push({
      id: 'pg.privileges',
      severity: 'blocker',
      subject: `${facts.site}: role ${facts.user}`,
      message: `role ${facts.user} does not own ${notOwned.slice(0, 5).join(', ')}${notOwned.length > 5 ? ` and ${notOwned.length - 5} more` : ''}; publications, fences and triggers need ownership`,
      remediation: `connect as the tables' owner or a superuser`,
    });
  }
  return out;
}

export async function walHeadroomFindings(
  client: pg.Client,
  facts: ServerFacts,
  copyBytes: number,
): Promise<Finding[]> {
  const keep = num(facts, 'max_slot_wal_keep_size'); // MB; -1 means unbounded
  const out: Finding[] = [];
  if (keep < 0) {
    out.push({
      id: 'pg.wal-headroom',
      severity: 'info',
      subject: `${facts.site}: max_slot_wal_keep_size`,
      message: `max_slot_wal_keep_size is unbounded on the ${facts.site}: a stalled subscription retains WAL until the disk fills`,
      remediation:
        'watch disk space during replication, or set max_slot_wal_keep_size above the WAL written during the copy',
    });
  } else if (keep * 1024 * 1024 < copyBytes) {
    out.push({
      id: 'pg.wal-headroom',
      severity: 'warning',
      subject: `${facts.site}: max_slot_wal_keep_size`,
      message: `max_slot_wal_keep_size (${keep} MB) is smaller than the data to copy (${Math.round(copyBytes / 1048576)} MB): the slot may be invalidated before the copy catches up`,
      remediation: 'raise max_slot_wal_keep_size for the migration',
    });
  }
  const lost = await client.query<{ slot_name: string; wal_status: string }>(
    `select slot_name, wal_status from pg_replication_slots where wal_status in ('unreserved', 'lost')`,
  );
  for (const row of lost.rows) {
    out.push({
      id: 'pg.wal-headroom',
      severity: 'warning',
      subject: `${facts.site}: slot ${row.slot_name}`,
      message: `replication slot ${row.slot_name} is ${row.wal_status}: WAL headroom is already exhausted`,
      remediation: 'drop or advance the slot, or free disk space, before migrating',
    });
  }
  return out;
}

export async function longTransactionFindings(
  client: pg.Client,
  site: Site,
  thresholdSeconds: number,
): Promise<Finding[]> {
  const result = await client.query<{ pid: number; usename: string | null; age: number; state: string | null }>(
    `select pid, usename, extract(epoch from now() - xact_start)::float8 as age, state
       from pg_stat_activity
      where xact_start is not null and pid <> pg_backend_pid()
        and backend_type = 'client backend' and now() - xact_start > make_interval(secs => $1)
      order by xact_start limit 10`,
    [thresholdSeconds],
  );
  return result.rows.map((row) => ({
    id: 'pg.long-transaction',
    severity: 'warning' as const,
    subject: `${site}: pid ${row.pid}`,
    message: `a transaction by ${row.usename ?? 'unknown'} has been open for ${Math.round(row.age)} s (${row.state ?? 'unknown'}); creating the slot waits for it and the slot holds WAL behind it`,
    remediation: 'let it finish or end it (pg_terminate_backend) before replication starts',
  }));
}

export async function largeObjectFindings(client: pg.Client, site: Site, lobColumns: string[]): Promise<Finding[]> {
  const result = await client.query<{ n: number }>(`select count(*)::int as n from pg_largeobject_metadata`);
  const count = result.rows[0]?.n ?? 0;
  if (count === 0 && lobColumns.length === 0) return [];
  const referenced = lobColumns.length > 0;
  return [
    {
      id: 'pg.large-objects',
      severity: referenced && count > 0 ? 'blocker' : 'warning',
      subject: referenced ? lobColumns.join(', ') : `${site}: pg_largeobject`,
      message: `the ${site} holds ${count} large object(s)${referenced ? ` and planned columns reference them (${lobColumns.join(', ')})` : ''}; logical replication does not carry large objects, so the target would hold dangling references`,
      remediation:
        'move large objects into bytea columns before migrating, or copy them separately (pg_dump --large-objects) and re-check',
    },
  ];
}

export function extensionFindings(source: ServerFacts, target: ServerFacts): Finding[] {
  const out: Finding[] = [];
  for (const [name, version] of source.extensions) {
    if (target.extensions.has(name)) continue;
    const available = target.availableExtensions.has(name);
    out.push({
      id: 'pg.extension-missing',
      severity: 'blocker',
      subject: `target: extension ${name}`,
      message: `extension ${name} ${version} is installed on the source but not on the target${available ? '' : ', and the target does not offer it'}`,
      remediation: available
        ? `CREATE EXTENSION ${name} on the target (before its schema is applied)`
        : `install the ${name} extension's package on the target server, then CREATE EXTENSION ${name}`,
    });
  }
  return out;
}

export function collationFindings(source: ServerFacts, target: ServerFacts): Finding[] {
  if (source.collation !== target.collation) {
    return [
      {
        id: 'pg.collation-version',
        severity: 'warning',
        subject: 'source,target: database collation',
        message: `the databases sort text differently (source ${source.collation}, target ${target.collation}): ORDER BY results and text keys in indexes may differ after cutover`,
        remediation: 'create the target database with the source collation, or accept and test the ordering change',
      },
    ];
  }
  if (source.collationVersion && target.collationVersion && source.collationVersion !== target.collationVersion) {
    return [
      {
        id: 'pg.collation-version',
        severity: 'warning',
        subject: `source,target: collation ${source.collation}`,
        message: `collation ${source.collation} has version ${source.collationVersion} on the source and ${target.collationVersion} on the target (different C library or ICU): text indexes may order differently`,
        remediation: 'REINDEX text indexes on the target after the copy, and use the same libc/ICU where possible',
      },
    ];
  }
  return [];
}

/** A source with physical standbys loses logical slots on failover unless they are failover slots (17+). */
export async function failoverSlotFindings(client: pg.Client, facts: ServerFacts): Promise<Finding[]> {
  const r = await client.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_replication r
      where not exists (select 1 from pg_replication_slots s where s.active_pid = r.pid and s.slot_type = 'logical')`,
  );
  const standbys = r.rows[0]?.n ?? 0;
  if (standbys === 0) return [];
  return [
    {
      id: 'pg.failover-slots',
      severity: facts.major >= 17 ? 'info' : 'warning',
      subject: 'source: standbys',
      message:
        facts.major >= 17
          ? `the source streams to ${standbys} standby(s); handoff creates its subscription with failover = true, which survives a failover only when the standby runs with sync_replication_slots = on`
          : `the source streams to ${standbys} standby(s) and is PostgreSQL ${facts.major}: a failover to a standby loses the replication slot and leaves a gap in the target`,
      remediation:
        facts.major >= 17
          ? 'set sync_replication_slots = on and hot_standby_feedback = on on the standby, and synchronized_standby_slots on the primary'
          : 'avoid failovers during the migration, or use the pg_failover_slots extension',
    },
  ];
}

/** Whether any role the fence could act on holds write privileges on the tables. */
export async function fenceFindings(client: pg.Client, tables: readonly RelationInfo[]): Promise<Finding[]> {
  if (tables.length === 0) return [];
  const r = await client.query<{ n: number }>(
    `select count(*)::int as n
       from pg_class c cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where c.oid = any($1::oid[]) and a.privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
        and (a.grantee = 0 or not (select rolsuper from pg_roles where oid = a.grantee))
        and a.grantee <> (select oid from pg_roles where rolname = current_user)`,
    [tables.map((t) => t.oid)],
  );
  if ((r.rows[0]?.n ?? 0) > 0) return [];
  return [
    {
      id: 'pg.fence',
      severity: 'warning',
      subject: 'source: write privileges',
      message:
        "only superusers (or handoff's own role) can write the tables, so revoking privileges cannot fence the source at cutover",
      remediation:
        'run the application as its own non-superuser role, or plan fence: { method: read-only, roles: [...] }',
    },
  ];
}
