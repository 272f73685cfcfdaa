/**
 * Compares what the source grants to the application with what the target grants (two
 * roles-catalog.ts snapshots), as findings with the SQL that fixes each: `pg.role-missing`,
 * `pg.grant-missing`, `pg.grant-extra`, `pg.role-differs`, `pg.password-md5`. Pure: no I/O. The
 * provision step (access-provision.ts) uses the same comparison to decide what to create.
 */
import pg from 'pg';
import type { Finding } from '../../common/findings.js';
import {
  defaultObjectWord,
  type AccessSnapshot,
  type DefaultPrivilegeInfo,
  type GrantInfo,
  type RoleInfo,
} from './roles-catalog.js';

export interface AccessDiff {
  /** Source roles absent on the target, groups before their members. */
  missingRoles: RoleInfo[];
  /** Memberships of the source missing on the target (role is a member of group). */
  missingMemberships: Array<{ role: string; group: string }>;
  missingGrants: GrantInfo[];
  extraGrants: GrantInfo[];
  missingDefaults: DefaultPrivilegeInfo[];
  extraDefaults: DefaultPrivilegeInfo[];
  /** Roles on both sides whose attributes differ: attribute → [source, target]. */
  differing: Array<{ role: string; attributes: Record<string, [unknown, unknown]> }>;
}

const q = (name: string): string => pg.escapeIdentifier(name);
const grantee = (role: string | null): string => (role === null ? 'PUBLIC' : q(role));
const grantKey = (g: GrantInfo): string => JSON.stringify([g.kind, g.object, g.role, g.privilege, g.grantable]);
const defaultKey = (d: DefaultPrivilegeInfo): string =>
  JSON.stringify([d.owner, d.schema, d.objectType, d.role, d.privilege, d.grantable]);

const ATTRIBUTES = [
  'login',
  'createdb',
  'createrole',
  'replication',
  'bypassrls',
  'inherit',
  'connectionLimit',
] as const;

export function diffAccess(source: AccessSnapshot, target: AccessSnapshot): AccessDiff {
  const missing = [...source.roles.values()].filter((r) => !target.roles.has(r.name));
  const targetGrants = new Set(target.grants.map(grantKey));
  const sourceGrants = new Set(source.grants.map(grantKey));
  const targetDefaults = new Set(target.defaults.map(defaultKey));
  const sourceDefaults = new Set(source.defaults.map(defaultKey));
  const differing: AccessDiff['differing'] = [];
  for (const role of source.roles.values()) {
    const other = target.roles.get(role.name);
    if (!other) continue;
    const attributes: Record<string, [unknown, unknown]> = {};
    for (const a of ATTRIBUTES) if (role[a] !== other[a]) attributes[a] = [role[a], other[a]];
    if (Object.keys(attributes).length > 0) differing.push({ role: role.name, attributes });
  }
  return {
    missingRoles: orderGroupsFirst(missing),
    missingMemberships: [...source.roles.values()].flatMap((r) =>
      r.memberOf
        .filter((g) => source.roles.has(g) && !(target.roles.get(r.name)?.memberOf.includes(g) ?? false))
        .map((group) => ({ role: r.name, group })),
    ),
    // Only objects that exist on the target: a missing table is pg.table-missing already.
    missingGrants: source.grants.filter((g) => target.objects.has(g.object) && !targetGrants.has(grantKey(g))),
    extraGrants: target.grants.filter((g) => source.objects.has(g.object) && !sourceGrants.has(grantKey(g))),
    missingDefaults: source.defaults.filter((d) => !targetDefaults.has(defaultKey(d))),
    extraDefaults: target.defaults.filter((d) => !sourceDefaults.has(defaultKey(d))),
    differing,
  };
}

function orderGroupsFirst(roles: RoleInfo[]): RoleInfo[] {
  const names = new Set(roles.map((r) => r.name));
  const done = new Set<string>();
  const out: RoleInfo[] = [];
  const visit = (role: RoleInfo, depth: number): void => {
    if (done.has(role.name) || depth > roles.length) return;
    for (const g of role.memberOf) {
      const group = roles.find((r) => r.name === g);
      if (group && names.has(g)) visit(group, depth + 1);
    }
    done.add(role.name);
    out.push(role);
  };
  for (const role of roles) visit(role, 0);
  return out;
}

/** CREATE ROLE with the source's attributes; `verifier` is a SCRAM verifier (never a plain password). */
export function createRoleSql(role: RoleInfo, verifier?: string): string {
  const options = [
    role.login ? 'LOGIN' : 'NOLOGIN',
    role.createdb ? 'CREATEDB' : '',
    role.createrole ? 'CREATEROLE' : '',
    role.replication ? 'REPLICATION' : '',
    role.bypassrls ? 'BYPASSRLS' : '',
    role.inherit ? '' : 'NOINHERIT',
    role.connectionLimit >= 0 ? `CONNECTION LIMIT ${role.connectionLimit}` : '',
    verifier ? `PASSWORD ${pg.escapeLiteral(verifier)}` : '',
  ].filter(Boolean);
  return `CREATE ROLE ${q(role.name)} ${options.join(' ')};`;
}

export function membershipSql(m: { role: string; group: string }, revoke = false): string {
  return revoke ? `REVOKE ${q(m.group)} FROM ${q(m.role)};` : `GRANT ${q(m.group)} TO ${q(m.role)};`;
}

function onObject(g: Pick<GrantInfo, 'kind' | 'object'>): string {
  return `${g.kind === 'schema' ? 'SCHEMA' : g.kind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${g.object}`;
}

/** GRANT (or REVOKE) of several privileges on one object to one role. */
export function grantSql(grants: readonly GrantInfo[], revoke = false): string[] {
  const out: string[] = [];
  for (const grantable of [false, true]) {
    const some = grants.filter((g) => g.grantable === grantable);
    const first = some[0];
    if (!first) continue;
    const privileges = some.map((g) => g.privilege).join(', ');
    out.push(
      revoke
        ? `REVOKE ${privileges} ON ${onObject(first)} FROM ${grantee(first.role)};`
        : `GRANT ${privileges} ON ${onObject(first)} TO ${grantee(first.role)}${grantable ? ' WITH GRANT OPTION' : ''};`,
    );
  }
  return out;
}

export function defaultPrivilegeSql(d: DefaultPrivilegeInfo, revoke = false): string {
  const scope = `FOR ROLE ${q(d.owner)}${d.schema ? ` IN SCHEMA ${q(d.schema)}` : ''}`;
  const on = `ON ${defaultObjectWord(d.objectType)}`;
  return revoke
    ? `ALTER DEFAULT PRIVILEGES ${scope} REVOKE ${d.privilege} ${on} FROM ${grantee(d.role)};`
    : `ALTER DEFAULT PRIVILEGES ${scope} GRANT ${d.privilege} ${on} TO ${grantee(d.role)}${d.grantable ? ' WITH GRANT OPTION' : ''};`;
}

/** Grants grouped by (role, object), in a stable order. */
export function groupGrants(grants: readonly GrantInfo[]): GrantInfo[][] {
  const groups = new Map<string, GrantInfo[]>();
  for (const g of grants) {
    const key = JSON.stringify([g.role, g.kind, g.object]);
    groups.set(key, [...(groups.get(key) ?? []), g]);
  }
  return [...groups.values()];
}

const who = (role: string | null): string => (role === null ? 'PUBLIC' : `role ${role}`);

/** The findings for one database; `database` names it in subjects when given. */
export function accessFindings(source: AccessSnapshot, target: AccessSnapshot, database?: string): Finding[] {
  const diff = diffAccess(source, target);
  const where = database ? ` (database ${database})` : '';
  const findings: Finding[] = [];
  for (const role of diff.missingRoles) {
    const sql = [
      createRoleSql(role),
      ...role.memberOf.filter((g) => source.roles.has(g)).map((group) => membershipSql({ role: role.name, group })),
    ].join(' ');
    findings.push({
      id: 'pg.role-missing',
      severity: 'blocker',
      subject: `target: role ${role.name}`,
      message: `role ${role.name} holds privileges on the plan's objects on the source${where} but does not exist on the target (roles are global; logical replication does not carry them)`,
      remediation: `run on the target: ${sql}${role.login ? ' then set its password (passwords cannot be copied), or let the provision step create it: spec.data[].access' : ''}`,
      fix: sql,
    });
  }
  const missingNames = new Set(diff.missingRoles.map((r) => r.name));
  for (const m of diff.missingMemberships.filter((m) => !missingNames.has(m.role))) {
    const sql = membershipSql(m);
    findings.push({
      id: 'pg.grant-missing',
      severity: 'blocker',
      subject: `target: role ${m.role}`,
      message: `role ${m.role} is a member of ${m.group} on the source${where} but not on the target`,
      remediation: `run on the target: ${sql}`,
      fix: sql,
    });
  }
  for (const group of groupGrants(diff.missingGrants)) {
    const first = group[0] as GrantInfo;
    const sql = grantSql(group).join(' ');
    findings.push({
      id: 'pg.grant-missing',
      severity: 'blocker',
      subject: `target: ${first.object}`,
      message: `${who(first.role)} has ${group.map((g) => g.privilege).join(', ')} on ${first.kind} ${first.object} on the source${where} but not on the target`,
      remediation: `run on the target${first.role && missingNames.has(first.role) ? ` after creating role ${first.role}` : ''}: ${sql}`,
      fix: sql,
    });
  }
  for (const d of diff.missingDefaults) {
    const sql = defaultPrivilegeSql(d);
    findings.push({
      id: 'pg.grant-missing',
      severity: 'warning',
      subject: `target: default privileges of ${d.owner}`,
      message: `on the source${where}, new ${defaultObjectWord(d.objectType).toLowerCase()} of ${d.owner}${d.schema ? ` in schema ${d.schema}` : ''} give ${d.privilege} to ${who(d.role)}; the target does not`,
      remediation: `run on the target: ${sql}`,
      fix: sql,
    });
  }
  for (const group of groupGrants(diff.extraGrants)) {
    const first = group[0] as GrantInfo;
    const sql = grantSql(group, true).join(' ');
    findings.push({
      id: 'pg.grant-extra',
      severity: 'warning',
      subject: `target: ${first.object}`,
      message: `${who(first.role)} has ${group.map((g) => g.privilege).join(', ')} on ${first.kind} ${first.object} on the target${where} but not on the source`,
      remediation: `if the target should match the source, run on the target: ${sql}`,
      fix: sql,
    });
  }
  for (const d of diff.extraDefaults) {
    const sql = defaultPrivilegeSql(d, true);
    findings.push({
      id: 'pg.grant-extra',
      severity: 'warning',
      subject: `target: default privileges of ${d.owner}`,
      message: `on the target${where}, new ${defaultObjectWord(d.objectType).toLowerCase()} of ${d.owner} give ${d.privilege} to ${who(d.role)}; the source does not`,
      remediation: `if the target should match the source, run on the target: ${sql}`,
      fix: sql,
    });
  }
  for (const { role, attributes } of diff.differing) {
    const text = Object.entries(attributes)
      .map(([a, [s, t]]) => `${a} ${String(s)} on the source, ${String(t)} on the target`)
      .join('; ');
    const sql = alterRoleSql(role, source.roles.get(role) as RoleInfo, Object.keys(attributes));
    findings.push({
      id: 'pg.role-differs',
      severity: 'warning',
      subject: `target: role ${role}`,
      message: `role ${role}${where}: ${text}`,
      remediation: `if the target should match the source, run on the target: ${sql}`,
      fix: sql,
    });
  }
  for (const [site, snapshot] of [
    ['source', source],
    ['target', target],
  ] as const) {
    const md5 = [...snapshot.roles.values()].filter((r) => r.password === 'md5').map((r) => r.name);
    if (md5.length === 0) continue;
    findings.push({
      id: 'pg.password-md5',
      severity: 'warning',
      subject: `${site}: ${md5.map((r) => `role ${r}`).join(', ')}`,
      message: `${md5.join(', ')} on the ${site} ${md5.length === 1 ? 'has an' : 'have'} MD5 password${md5.length === 1 ? '' : 's'}; MD5 passwords are deprecated from PostgreSQL 18 and will be removed`,
      remediation: `set password_encryption = 'scram-sha-256' and set each password again (ALTER ROLE ... PASSWORD, or \\password in psql); on the target, the provision step sets SCRAM verifiers`,
    });
  }
  return findings;
}

function alterRoleSql(role: string, wanted: RoleInfo, attributes: readonly string[]): string {
  const words = attributes.map((a) => {
    if (a === 'connectionLimit') return `CONNECTION LIMIT ${wanted.connectionLimit}`;
    const on = wanted[a as keyof RoleInfo] === true;
    return `${on ? '' : 'NO'}${a.toUpperCase()}`;
  });
  return `ALTER ROLE ${q(role)} ${words.join(' ')};`;
}
