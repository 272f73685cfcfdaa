/**
 * The demo's secret delivery, standing in for a secret store that mounts credentials into the
 * service (a Kubernetes Secret volume, a Vault agent file): one file per site, `<site>.url`, holding
 * the connection string of the live application role, mode 0600 in a private temporary directory
 * (mode 0700, never the state directory). It starts with demo_app_blue; when the run's events say
 * `pg-credentials-rotated`, it rewrites the files of the sites named with the new live role's
 * credentials, and each site's service follows its file (service/credentials-file.ts). The
 * passwords reach the engine only through the environment (`fromEnv`) and are redacted everywhere.
 *
 * It also measures, for the summary, which roles the target's service sessions use and which of
 * the two login roles can still log in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { removeDirsOfGoneProcesses } from '../common/stale-dirs.js';
import type { EventBus, HandoffEvent } from '../common/events.js';
import '../data/postgres/access-events.js';
import { DEMO_APP_LOGINS, DEMO_ROTATION_PASSWORD_ENV, type DemoRotationOptions } from './demo-plan.js';
import type { DemoDatabases } from './demo-sites.js';
import { writeCredentialsFile } from './service/credentials-file.js';

type SiteName = 'source' | 'target';
const SITES: readonly SiteName[] = ['source', 'target'];

/** How long the retiring role's sessions may stay after the switch (the plan's retireAfter). */
export const DEMO_RETIRE_AFTER_MS = 10_000;
/**
 * How long after the bake starts the rotation runs (the plan's startAfter): at 1,000 requests/s the
 * target is busy for a few seconds after the cutover's release (the held requests on top of the
 * load); the new role's sessions opened then made the bake's p99 1.3-2.0 s instead of 0.6 s.
 */
export const DEMO_ROTATION_START_AFTER_MS = 3000;

/** The `credentials` part of `handoff demo -o json`. */
export interface DemoCredentialsSummary {
  /** Rotations the run announced (`pg-credentials-rotated`). */
  rotated: number;
  /** The role the services' credentials files name now. */
  live: string;
  /** Roles the run retired (`pg-credentials-retired`: NOLOGIN, sessions left ended). */
  retired: string[];
  /** The target's service sessions by role, measured as the bake ended (under load); null if not measured. */
  targetSessions: Record<string, number> | null;
  /** Which of the two login roles can log in on the target at the end; null if not measured. */
  canLogin: string[] | null;
}

export interface DemoCredentials {
  /** The private directory of the credentials files. */
  readonly dir: string;
  /** The plan's `rotation` option. */
  readonly plan: DemoRotationOptions;
  /** What the engine's environment needs (the rotation's password). */
  readonly env: Record<string, string>;
  observe(events: EventBus): void;
  /** Counts the target's service sessions by role (call while the service is busy). */
  measureSessions(shopUrl: string): Promise<void>;
  summary(shopUrl: string): Promise<DemoCredentialsSummary>;
  /** Removes the credentials files (not with `--keep`: the services still read them). */
  close(): void;
  /**
   * Leaves the files in place when this process exits (`--keep`). Otherwise they are removed at
   * exit even when `close` is never reached (a SIGINT or SIGTERM ends the demo from its handler).
   */
  keep(): void;
}

async function query<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a connection lost mid-query is reported by the query that fails
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const PREFIX = 'handoff-demo-credentials-';

/**
 * Removes the credentials directories of demos whose process is gone (SIGKILLed, or `--keep`: the
 * next demo ends the services it kept). Only this prefix, only directories owned by this user.
 */
function reapStale(): number {
  return removeDirsOfGoneProcesses(PREFIX);
}

export function startDemoCredentials(dbs: DemoDatabases, note: (text: string) => void): DemoCredentials {
  const stale = reapStale();
  if (stale > 0) note(`removed ${stale} credentials directories earlier demos left behind`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  const removeAtExit = (): void => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeAtExit);
  const [blue, green] = DEMO_APP_LOGINS;
  const urls: Record<SiteName, Record<string, string>> = {
    source: { [blue]: dbs.source.appUrl, [green]: dbs.source.appUrlFor(green, dbs.rotationPassword) },
    target: { [blue]: dbs.target.appUrl, [green]: dbs.target.appUrlFor(green, dbs.rotationPassword) },
  };
  const deliver = (site: SiteName, role: string): void => {
    const url = urls[site][role];
    if (url !== undefined) writeCredentialsFile(path.join(dir, `${site}.url`), url);
  };
  for (const site of SITES) deliver(site, blue);
  let live: string = blue;
  let rotated = 0;
  const retired: string[] = [];
  let targetSessions: Record<string, number> | null = null;

  const onEvent = (event: HandoffEvent): void => {
    if (event.type === 'pg-credentials-rotated') {
      const data = event.data as { live: string; sites: SiteName[] };
      if (urls.source[data.live] === undefined) return;
      for (const site of data.sites) deliver(site, data.live);
      live = data.live;
      rotated += 1;
      note(`  credentials: ${data.live} is live; delivered to the services on ${data.sites.join(' and ')}`);
    } else if (event.type === 'pg-credentials-retired') {
      const data = event.data as { role: string; terminated: number };
      retired.push(data.role);
      note(`  credentials: ${data.role} retired (NOLOGIN), ${data.terminated} sessions of it ended`);
    }
  };

  return {
    dir,
    plan: {
      credentialsDir: dir,
      passwordEnv: DEMO_ROTATION_PASSWORD_ENV,
      retireAfterMs: DEMO_RETIRE_AFTER_MS,
      startAfterMs: DEMO_ROTATION_START_AFTER_MS,
    },
    env: { [DEMO_ROTATION_PASSWORD_ENV]: dbs.rotationPassword },
    observe: (events) => void events.on(onEvent),
    async measureSessions(shopUrl) {
      const rows = await query<{ role: string; n: number }>(
        shopUrl,
        `select usename as role, count(*)::int as n from pg_stat_activity
          where application_name = 'demo-service' and datname = current_database() group by 1 order by 1`,
        [],
      ).catch(() => null);
      targetSessions = rows ? Object.fromEntries(rows.map((r) => [r.role, r.n])) : null;
    },
    async summary(shopUrl) {
      const rows = await query<{ rolname: string }>(
        shopUrl,
        `select rolname from pg_roles where rolname = any($1::text[]) and rolcanlogin order by 1`,
        [[blue, green]],
      ).catch(() => null);
      return { rotated, live, retired, targetSessions, canLogin: rows ? rows.map((r) => r.rolname) : null };
    },
    keep() {
      process.off('exit', removeAtExit);
    },
    close() {
      process.off('exit', removeAtExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
