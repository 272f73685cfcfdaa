/**
 * The provision step for database access (`spec.data[].access.provision`): creates on the target the
 * roles, memberships, grants and default privileges the source gives the application and the target
 * lacks (grants-diff.ts, the same comparison as preflight). Passwords are never copied: a LOGIN role
 * gets the password of its secret reference in `access.passwords` (sent as a SCRAM verifier only), or
 * is created NOLOGIN. What it will create is written to the run state before it acts, so `undo`
 * removes exactly that, and nothing that was there before.
 */
import pg from 'pg';
import type { Step, StepContext } from '../data-plane.js';
import { stepPrefix } from './names.js';
import { createRoleSql, defaultPrivilegeSql, diffAccess, grantSql, groupGrants, membershipSql } from './grants-diff.js';
import { readAccess, type DefaultPrivilegeInfo, type GrantInfo } from './roles-catalog.js';
import { scramVerifier } from './scram.js';
import { planTables, withSite, withSites, type PgEnv } from './session.js';

export interface ProvisionRecord {
  roles: string[];
  /** Created without LOGIN because no password reference names them. */
  nologin: string[];
  memberships: Array<{ role: string; group: string }>;
  grants: GrantInfo[];
  defaults: DefaultPrivilegeInfo[];
}

function passwordFor(ctx: StepContext, env: PgEnv, role: string): string | undefined {
  const ref = env.entry.access?.passwords[role];
  if (!ref) return undefined;
  const index = ctx.plan.spec.data.findIndex((d) => d.database === env.entry.database);
  return ctx.secrets.resolve(ref, `spec.data[${index}].access.passwords.${role}`);
}

export function provisionAccessStep(env: PgEnv): Step {
  const key = env.key('access-provisioned');
  return {
    name: `${stepPrefix(env.entry.database)}provision-access`,
    async run(ctx) {
      if (!env.entry.access?.provision) return { skipped: 'spec.data[].access.provision is off' };
      return withSites(ctx, env, async ({ source, target }) => {
        const tables = await planTables(ctx, env, source);
        const sourceAccess = await readAccess(source, tables);
        const targetAccess = await readAccess(target, tables, [...sourceAccess.roles.keys()]);
        const diff = diffAccess(sourceAccess, targetAccess);
        // A replay finds what the first attempt created as present: keep the first record, add to it.
        const before = ctx.state.get<ProvisionRecord>(key);
        const passwords = new Map<string, string>();
        for (const role of diff.missingRoles) {
          const password = role.login ? passwordFor(ctx, env, role.name) : undefined;
          if (password) passwords.set(role.name, password);
        }
        const record: ProvisionRecord = {
          roles: [...(before?.roles ?? []), ...diff.missingRoles.map((r) => r.name)],
          nologin: [
            ...(before?.nologin ?? []),
            ...diff.missingRoles.filter((r) => r.login && !passwords.has(r.name)).map((r) => r.name),
          ],
          memberships: [...(before?.memberships ?? []), ...diff.missingMemberships],
          grants: [...(before?.grants ?? []), ...diff.missingGrants],
          defaults: [...(before?.defaults ?? []), ...diff.missingDefaults],
        };
        ctx.state.set(key, record); // before acting: undo knows everything this may create
        for (const role of diff.missingRoles) {
          const password = passwords.get(role.name);
          const sql = createRoleSql(
            { ...role, login: role.login && password !== undefined },
            password ? scramVerifier(password) : undefined,
          );
          await target.query(sql);
        }
        for (const m of diff.missingMemberships) await target.query(membershipSql(m));
        for (const group of groupGrants(diff.missingGrants)) for (const sql of grantSql(group)) await target.query(sql);
        for (const d of diff.missingDefaults) await target.query(defaultPrivilegeSql(d));
        if (record.nologin.length > 0)
          ctx.logger.warn('roles created NOLOGIN: no password reference names them (spec.data[].access.passwords)', {
            roles: record.nologin,
          });
        return {
          roles: diff.missingRoles.map((r) => r.name),
          nologin: diff.missingRoles.filter((r) => r.login && !passwords.has(r.name)).map((r) => r.name),
          memberships: diff.missingMemberships.length,
          grants: diff.missingGrants.length,
          defaultPrivileges: diff.missingDefaults.length,
        };
      });
    },
    async undo(ctx) {
      const record = ctx.state.get<ProvisionRecord>(key);
      if (!record) return;
      await withSite(ctx, env, 'target', async (target) => {
        const exists = async (role: string | null): Promise<boolean> =>
          role === null ||
          ((await target.query(`select 1 from pg_roles where rolname = $1`, [role])).rowCount ?? 0) > 0;
        for (const d of record.defaults)
          if ((await exists(d.owner)) && (await exists(d.role))) await target.query(defaultPrivilegeSql(d, true));
        for (const group of groupGrants(record.grants)) {
          const first = group[0] as GrantInfo;
          if (await exists(first.role)) for (const sql of grantSql(group, true)) await target.query(sql);
        }
        for (const m of record.memberships)
          if ((await exists(m.role)) && (await exists(m.group))) await target.query(membershipSql(m, true));
        for (const role of [...record.roles].reverse()) {
          if (!(await exists(role))) continue;
          await target.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [role]);
          await target.query(`drop owned by ${pg.escapeIdentifier(role)}`);
          await target.query(`drop role ${pg.escapeIdentifier(role)}`);
        }
      });
      ctx.state.set(key, null);
    },
  };
}
