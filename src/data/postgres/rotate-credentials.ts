/**
 * The rotate-credentials action (`spec.data[].access.rotation`): blue/green credentials for the
 * application. Two login roles are members of one group role that holds the privileges; one is live.
 * A rotation gives the standby role the new password (from its secret reference, sent as a SCRAM
 * verifier) and LOGIN on every site, says which role is live now (`pg-credentials-rotated`: the
 * service re-reads its credentials and opens new sessions as that role), waits a bounded time for the
 * old role's sessions to go, ends the ones left, and retires the old role (NOLOGIN). The service never
 * meets a moment when no role can log in. A failed exchange is a visible, retryable event
 * (`pg-credentials-rotation-failed`) and a retryable error, never a silent stall; running the step
 * again finishes the same rotation (the live role is recorded before anything changes).
 */
import pg from 'pg';
import { AdapterError, InputError, messageOf } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { sleep } from '../../common/net.js';
import type { Step, StepContext } from '../data-plane.js';
import { stepPrefix } from './names.js';
import { scramVerifier } from './scram.js';
import { withSites, type PgEnv, type Site } from './session.js';
import './access-events.js';

export interface RotationState {
  /** The role live after this rotation. */
  live: string;
  retiring: string;
}

async function sessionsOf(client: pg.Client, role: string): Promise<number> {
  const r = await client.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where usename = $1`, [
    role,
  ]);
  return r.rows[0]?.n ?? 0;
}

/** Gives `role` LOGIN and the password's verifier, as a member of `group` (created if missing). */
async function armStandby(client: pg.Client, group: string, role: string, verifier: string): Promise<void> {
  const exists = await client.query(`select 1 from pg_roles where rolname = $1`, [role]);
  const name = pg.escapeIdentifier(role);
  await client.query(
    `${exists.rowCount ? 'alter' : 'create'} role ${name} login password ${pg.escapeLiteral(verifier)}`,
  );
  await client.query(`grant ${pg.escapeIdentifier(group)} to ${name}`);
}

export function rotateCredentialsStep(env: PgEnv, options: { pollMs?: number } = {}): Step {
  const database = env.entry.database;
  const key = env.key('rotation');
  return {
    name: `${stepPrefix(database)}rotate-credentials`,
    async run(ctx: StepContext) {
      const rotation = env.entry.access?.rotation;
      if (!rotation) throw new InputError(`spec.data[] ${database}: access.rotation is not set; nothing to rotate`);
      const [blue, green] = rotation.roles;
      const done = ctx.state.get<RotationState & { count: number; finished: boolean }>(key);
      // Let the service settle after the cutover first (its new sessions cost the target a moment);
      // a replay of a rotation already under way does not wait again.
      const startAfterMs = parseDuration(rotation.startAfter);
      if (startAfterMs > 0 && !(done && !done.finished)) await sleep(startAfterMs, ctx.signal);
      // A replay of an unfinished rotation completes it; a new rotation flips from the live role.
      const from = done ? (done.finished ? done.live : done.retiring) : blue;
      const to = from === blue ? green : blue;
      const count = (done?.finished ? done.count : (done?.count ?? 1) - 1) + 1;
      ctx.state.set(key, { live: to, retiring: from, count, finished: false });
      const index = ctx.plan.spec.data.findIndex((d) => d.database === database);
      let terminated = 0;
      try {
        const password = ctx.secrets.resolve(rotation.password, `spec.data[${index}].access.rotation.password`);
        const verifier = scramVerifier(password);
        await withSites(ctx, env, async (sites) => {
          const present: Site[] = [];
          for (const site of ['source', 'target'] as const) {
            const group = await sites[site].query(`select 1 from pg_roles where rolname = $1`, [rotation.group]);
            if (group.rowCount) present.push(site);
          }
          if (present.length === 0)
            throw new InputError(`access.rotation.group: role ${rotation.group} exists on neither site`);
          for (const site of present) await armStandby(sites[site], rotation.group, to, verifier);
          ctx.events.emit(
            'pg-credentials-rotated',
            { database, live: to, retiring: from, sites: present, rotation: count },
            { subject: to },
          );
          // The service re-reads its credentials and moves its sessions to the live role; bounded.
          const deadline = Date.now() + parseDuration(rotation.retireAfter);
          for (;;) {
            let left = 0;
            for (const site of present) left += await sessionsOf(sites[site], from);
            if (left === 0 || Date.now() >= deadline) break;
            await sleep(options.pollMs ?? 100, ctx.signal);
          }
          for (const site of present) {
            const name = pg.escapeIdentifier(from);
            const exists = await sites[site].query(`select 1 from pg_roles where rolname = $1`, [from]);
            if (!exists.rowCount) continue;
            await sites[site].query(`alter role ${name} nologin`);
            const ended = await sites[site].query(
              `select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`,
              [from],
            );
            terminated += ended.rowCount ?? 0;
          }
        });
      } catch (error) {
        if (error instanceof InputError) throw error;
        ctx.events.emit(
          'pg-credentials-rotation-failed',
          { database, live: from, standby: to, error: ctx.redactor.redact(messageOf(error)), retryable: true },
          { subject: to },
        );
        throw new AdapterError(
          `rotating ${database}'s credentials from ${from} to ${to} failed: ${ctx.redactor.redact(messageOf(error))}; ${from} still logs in, the rotation is retried`,
          { retryable: true, cause: error },
        );
      }
      ctx.state.set(key, { live: to, retiring: from, count, finished: true });
      ctx.events.emit('pg-credentials-retired', { database, role: from, terminated }, { subject: from });
      return { live: to, retired: from, terminated, rotation: count };
    },
  };
}
