/**
 * What a database grants to the application, read from one server: the roles that hold privileges on
 * the plan's tables, their sequences and schemas (with the roles they belong to and their members),
 * each role's attributes and password kind, every grant on those objects, and the default privileges
 * that apply to them. Read-only; the two sides' snapshots are compared by grants-diff.ts.
 */
import type pg from 'pg';
import type { TableName } from './connect.js';

export interface RoleInfo {
  name: string;
  login: boolean;
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  replication: boolean;
  bypassrls: boolean;
  inherit: boolean;
  /** -1: no limit. */
  connectionLimit: number;
  /** The roles this one is a member of (direct memberships only). */
  memberOf: string[];
  /** md5, scram, none; null when pg_authid cannot be read (not a superuser, managed services). */
  password: 'md5' | 'scram' | 'none' | null;
}

export type GrantObjectKind = 'table' | 'sequence' | 'schema';

export interface GrantInfo {
  kind: GrantObjectKind;
  /** Quoted and qualified as SQL wants it: "public"."orders", or "public" for a schema. */
  object: string;
  /** A role name; null for PUBLIC. */
  role: string | null;
  privilege: string;
  grantable: boolean;
}

export interface DefaultPrivilegeInfo {
  /** The role whose future objects get the privilege. */
  owner: string;
  /** null: in every schema. */
  schema: string | null;
  /** r tables, S sequences, f functions, T types, n schemas. */
  objectType: string;
  role: string | null;
  privilege: string;
  grantable: boolean;
}

export interface AccessSnapshot {
  roles: Map<string, RoleInfo>;
  /** Every table, sequence and schema looked at that exists here (quoted), granted or not. */
  objects: Set<string>;
  grants: GrantInfo[];
  defaults: DefaultPrivilegeInfo[];
}

/** Roles handoff itself creates (replication roles) are never the application's. */
export const HANDOFF_ROLE_PREFIX = 'handoff_';

const privilegeNames: Record<string, string> = {
  r: 'tables',
  S: 'sequences',
  f: 'functions',
  T: 'types',
  n: 'schemas',
};

/** `ON TABLES`, `ON SEQUENCES`, ... for ALTER DEFAULT PRIVILEGES. */
export function defaultObjectWord(objectType: string): string {
  return (privilegeNames[objectType] ?? 'tables').toUpperCase();
}

/** SQL that double-quotes an identifier always (format('%I') leaves simple names bare). */
function quoted(column: string): string {
  return `'"' || replace(${column}, '"', '""') || '"'`;
}

/**
 * Reads the access snapshot for `tables` (those present on this server). `extraRoles` are looked up
 * too (the other side's roles, so a role missing here is known to be missing).
 */
export async function readAccess(
  client: pg.Client,
  tables: readonly TableName[],
  extraRoles: readonly string[] = [],
): Promise<AccessSnapshot> {
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const grants = await client.query<{
    kind: GrantObjectKind;
    object: string;
    role: string | null;
    privilege: string;
    grantable: boolean;
    owner: string;
  }>(
    `with rels as (
       select c.oid, c.relacl, c.relowner, case when c.relkind = 'S' then 'sequence' else 'table' end as kind,
              ${quoted('n.nspname')} || '.' || ${quoted('c.relname')} as object
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))
       union
       select s.oid, s.relacl, s.relowner, 'sequence', ${quoted('n.nspname')} || '.' || ${quoted('s.relname')}
         from pg_depend d join pg_class s on s.oid = d.objid and s.relkind = 'S'
         join pg_namespace n on n.oid = s.relnamespace
         join pg_class t on t.oid = d.refobjid join pg_namespace tn on tn.oid = t.relnamespace
        where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass and d.deptype in ('a','i')
          and (tn.nspname, t.relname) in (select * from unnest($1::text[], $2::text[]))
     ), objs as (
       select kind, object, relowner as owner, (aclexplode(coalesce(relacl, acldefault((case when kind = 'sequence' then 's' else 'r' end)::"char", relowner)))).* from rels
       union all
       select 'schema', ${quoted('nspname')}, nspowner, (aclexplode(coalesce(nspacl, acldefault('n'::"char", nspowner)))).*
         from pg_namespace where nspname = any($3::text[])
     )
     select kind, object, case when grantee = 0 then null else pg_get_userbyid(grantee) end as role,
            privilege_type as privilege, is_grantable as grantable, pg_get_userbyid(owner) as owner
       from objs
      order by 1, 2, 3, 4`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), schemas],
  );
  const defaults = await client.query<DefaultPrivilegeInfo>(
    `select pg_get_userbyid(d.defaclrole) as owner, n.nspname as schema, d.defaclobjtype::text as "objectType",
            case when a.grantee = 0 then null else pg_get_userbyid(a.grantee) end as role,
            a.privilege_type as privilege, a.is_grantable as grantable
       from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
      where (d.defaclnamespace = 0 or n.nspname = any($1::text[])) and a.grantee <> d.defaclrole
      order by 1, 2, 3, 4, 5`,
    [schemas],
  );
  // The application's roles: grantees and non-superuser owners, then the groups they are in and their members.
  const objects = new Set(grants.rows.map((g) => g.object));
  const granted = grants.rows.filter((g) => g.role !== g.owner);
  const seeds = new Set<string>(extraRoles);
  for (const g of grants.rows) {
    if (g.role) seeds.add(g.role);
    seeds.add(g.owner);
  }
  for (const d of defaults.rows) {
    if (d.role) seeds.add(d.role);
    seeds.add(d.owner);
  }
  const roles = await readRoles(client, [...seeds]);
  return {
    roles,
    objects,
    grants: granted
      .filter((g) => g.role === null || roles.has(g.role))
      .map(({ kind, object, role, privilege, grantable }) => ({ kind, object, role, privilege, grantable })),
    // The owner of default privileges is often the migrations' role or a superuser: kept whatever it is.
    defaults: defaults.rows.filter((d) => d.role === null || roles.has(d.role)),
  };
}

/** The roles named, the groups they are in and their members (transitively); never superusers or handoff's own. */
async function readRoles(client: pg.Client, seeds: readonly string[]): Promise<Map<string, RoleInfo>> {
  const rows = await client.query<Omit<RoleInfo, 'password'> & { oid: number }>(
    `with recursive related(oid) as (
       select oid from pg_roles where rolname = any($1::text[]) and not rolsuper and rolname not like 'pg\\_%' and rolname not like $2
       union
       select case when m.member = r.oid then m.roleid else m.member end
         from pg_auth_members m join related r on m.member = r.oid or m.roleid = r.oid
     )
     select r.oid::int as oid, r.rolname as name, r.rolcanlogin as login, r.rolsuper as superuser, r.rolcreatedb as createdb,
            r.rolcreaterole as createrole, r.rolreplication as replication, r.rolbypassrls as bypassrls,
            r.rolinherit as inherit, r.rolconnlimit as "connectionLimit",
            coalesce((select array_agg(g.rolname::text order by g.rolname) from pg_auth_members m join pg_roles g on g.oid = m.roleid
                       where m.member = r.oid and not g.rolsuper)::text[], '{}'::text[]) as "memberOf"
       from pg_roles r where r.oid in (select oid from related)
        and not r.rolsuper and r.rolname not like 'pg\\_%' and r.rolname not like $2
      order by r.rolname`,
    [seeds, `${HANDOFF_ROLE_PREFIX}%`],
  );
  const passwords = await readPasswordKinds(
    client,
    rows.rows.map((r) => r.name),
  );
  const out = new Map<string, RoleInfo>();
  for (const { oid: _oid, ...row } of rows.rows) {
    out.set(row.name, {
      ...row,
      memberOf: row.memberOf.filter((g) => !g.startsWith('pg_')),
      password: passwords ? (passwords.get(row.name) ?? 'none') : null,
    });
  }
  return out;
}

/** md5 or scram per role from pg_authid (the hash itself is never read out); null when not allowed. */
async function readPasswordKinds(
  client: pg.Client,
  roles: readonly string[],
): Promise<Map<string, 'md5' | 'scram' | 'none'> | null> {
  try {
    const r = await client.query<{ name: string; kind: 'md5' | 'scram' | 'none' }>(
      `select rolname as name,
              case when rolpassword like 'md5%' then 'md5' when rolpassword like 'SCRAM-SHA-256$%' then 'scram' else 'none' end as kind
         from pg_authid where rolname = any($1::text[])`,
      [roles],
    );
    return new Map(r.rows.map((row) => [row.name, row.kind]));
  } catch {
    return null; // permission denied for table pg_authid (autocommit: nothing to roll back)
  }
}
