/**
 * The demo service follows its credentials file (DATABASE_URL_FILE, issue 16's blue/green rotation)
 * on a real PostgreSQL: when the file names another role, new queries log in as that role, a
 * request in flight on an old connection finishes (it is not failed), requests under way through
 * the switch all succeed, the old role's sessions end; credentials that do not log in are not
 * taken (the service stays on the role it has and moves once they work).
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, seed } from '../../src/demo/service/schema.js';
import { writeCredentialsFile } from '../../src/demo/service/credentials-file.js';
import { createLivePool, createUseMeter, type LivePool } from '../../src/demo/service/live-pool.js';
import { startDemoService, type DemoService } from '../../src/demo/service/server.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';

const ACCOUNTS = 10;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('demo service: credentials file followed without a gap', () => {
  let server: TestPostgres;
  let admin: pg.Client;
  let service: DemoService | null = null;
  const tmp = makeTempDir('handoff-credentials-');
  const file = path.join(tmp.dir, 'source.url');
  const url = (role: string, password: string): string =>
    `postgresql://${role}:${password}@127.0.0.1:${server.port}/shop`;

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('shop');
    admin = new pg.Client({ connectionString: server.url('shop') });
    await admin.connect();
    await admin.query(`create role app nologin`);
    await admin.query(`create role app_blue login password 'blue-pw-1' in role app`);
    await admin.query(`create role app_green login password 'green-pw-2' in role app`);
    await migrate(admin, 'app');
    await seed(admin, { accounts: ACCOUNTS, orders: 50 });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await admin?.end();
    await server?.close();
    tmp.cleanup();
  });

  const sessions = async (): Promise<Record<string, number>> => {
    const r = await admin.query<{ role: string; n: number }>(
      `select usename as role, count(*)::int as n from pg_stat_activity where application_name = 'demo-service' group by 1`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.role, row.n]));
  };

  it('moves new queries to the new role, lets the in-flight one finish, fails nothing', async () => {
    writeCredentialsFile(file, url('app_blue', 'blue-pw-1'));
    const logged: string[] = [];
    service = await startDemoService({
      credentialsFile: file,
      credentialsPollMs: 200,
      port: 0,
      site: 'source',
      log: (line) => logged.push(line),
    });
    const base = `http://127.0.0.1:${service.port}`;
    expect(service.role).toBe('app_blue');

    // Reads all along, through the switch: none may fail.
    const statuses: number[] = [];
    let reading = true;
    const reader = (async () => {
      for (let i = 0; reading; i++) {
        const r = await fetch(`${base}/accounts/${(i % ACCOUNTS) + 1}`, { signal: AbortSignal.timeout(10_000) });
        statuses.push(r.status);
        await r.arrayBuffer();
      }
    })();
    await until('reads as app_blue', async () => statuses.length > 5 && (await sessions()).app_blue !== undefined);

    // A transfer held in flight on a blue connection: the superuser locks its accounts first.
    const locker = new pg.Client({ connectionString: server.url('shop') });
    await locker.connect();
    await locker.query('begin');
    await locker.query('select * from accounts where id in (1, 2) for update');
    const transfer = fetch(`${base}/transfers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestId: crypto.randomUUID(), from: 1, to: 2, amount: 1 }),
      signal: AbortSignal.timeout(30_000),
    });
    await until('the transfer waits on its lock', async () => {
      const r = await admin.query(
        `select 1 from pg_stat_activity where usename = 'app_blue' and wait_event_type = 'Lock'`,
      );
      return (r.rowCount ?? 0) > 0;
    });

    writeCredentialsFile(file, url('app_green', 'green-pw-2'));
    await until('the service on app_green', () => service?.role === 'app_green');
    const readsAtSwitch = statuses.length;
    await until('reads as app_green', async () => statuses.length > readsAtSwitch + 20);
    expect((await sessions()).app_green).toBeGreaterThan(0);
    // The old pool's idle connections end; the held transfer keeps its blue one (drained, not cut).
    await until('only the held transfer on app_blue', async () => (await sessions()).app_blue === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await sessions()).app_blue).toBe(1);

    await locker.query('commit');
    await locker.end();
    const answer = await transfer;
    expect(answer.status).toBe(201);
    await until('the blue sessions gone', async () => (await sessions()).app_blue === undefined);
    reading = false;
    await reader;
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(logged.join('\n')).toMatch(/new connections log in as app_green/);
    expect(logged.join('\n')).not.toMatch(/green-pw-2|blue-pw-1/);
  }, 60_000);

  it('does not take credentials that do not log in, and moves once they do', async () => {
    if (!service) throw new Error('the first test starts the service');
    const base = `http://127.0.0.1:${service.port}`;
    await admin.query(`alter role app_blue password 'blue-pw-3'`);
    writeCredentialsFile(file, url('app_blue', 'not-the-password'));
    // The service logs its failed attempt and keeps serving as app_green.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(service.role).toBe('app_green');
    expect((await fetch(`${base}/accounts/3`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    writeCredentialsFile(file, url('app_blue', 'blue-pw-3'));
    await until('the service on app_blue', () => service?.role === 'app_blue');
    expect((await fetch(`${base}/accounts/3`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    await until('the green sessions gone', async () => (await sessions()).app_green === undefined);
  }, 60_000);

  it('makes its connections before it needs them: at start, and before a swap takes requests', async () => {
    // A service of its own (pool of 4), on the first service's database; the first one is closed
    // so that every demo-service session counted here is this one's.
    await service?.close();
    service = null;
    await until('the first service gone', async () => Object.keys(await sessions()).length === 0);
    const own = path.join(tmp.dir, 'warm.url');
    writeCredentialsFile(own, url('app_blue', 'blue-pw-3'));
    const warm = await startDemoService({
      credentialsFile: own,
      credentialsPollMs: 200,
      port: 0,
      site: 'source',
      poolSize: 4,
    });
    try {
      // Not one request yet, and every connection is there.
      expect(await sessions()).toEqual({ app_blue: 4 });
      writeCredentialsFile(own, url('app_green', 'green-pw-2'));
      await until('the service on app_green', () => warm.role === 'app_green');
      // The new pool took over with as many connections as the old one had in use lately: this
      // service served nothing, so one, readied before it served (its reads run, its writes planned:
      // the last thing it ran is the last write's plan).
      expect((await sessions()).app_green).toBe(1);
      const last = await admin.query<{ query: string }>(
        `select query from pg_stat_activity where application_name = 'demo-service' and usename = 'app_green'`,
      );
      expect(last.rows.map((r) => r.query.replace(/\s+/g, ' ').slice(0, 50))).toEqual([
        'explain (generic_plan) insert into client_events (',
      ]);
      await until('the blue sessions gone', async () => (await sessions()).app_blue === undefined);
      // An idle pool keeps it (the next burst must not log in again).
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await sessions()).toEqual({ app_green: 1 });
    } finally {
      await warm.close();
    }
  }, 60_000);

  it('readies every connection before it serves, a swapped pool one login at a time with rests', async () => {
    // The prepare marks its session (application_name): what pg_stat_activity shows is what ran.
    const byName = async (): Promise<Record<string, number>> => {
      const r = await admin.query<{ name: string; n: number }>(
        `select application_name as name, count(*)::int as n from pg_stat_activity
          where application_name like 'live-pool-test%' group by 1`,
      );
      return Object.fromEntries(r.rows.map((row) => [row.name, row.n]));
    };
    const PREPARE_MS = 50;
    let running = 0;
    let mostAtOnce = 0;
    const seen: string[] = [];
    const preparing = (mark: string) => async (client: pg.ClientBase) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, PREPARE_MS)); // slower than a login: the warm-up must wait
      await client.query(`set application_name = 'live-pool-test-${mark}'`);
      seen.push(mark);
      running -= 1;
    };
    const pools = createLivePool(url('app_blue', 'blue-pw-3'), {
      max: 3,
      applicationName: 'live-pool-test',
      recentMs: 60_000, // what was in use before the swap, however slow the machine
      warmConcurrency: 3,
      swapPacing: { restRatio: 2, withinMs: 60_000 },
      prepare: preparing('prepared'),
      prepareSwapped: preparing('swapped'),
    });
    try {
      expect(await pools.warm()).toBe(3);
      expect(seen).toEqual(['prepared', 'prepared', 'prepared']);
      expect(await byName()).toEqual({ 'live-pool-test-prepared': 3 });
      // A query on any connection runs after its prepare.
      const names = await Promise.all(
        [1, 2, 3].map(() => pools.current().query<{ n: string }>(`select current_setting('application_name') as n`)),
      );
      expect(names.map((r) => r.rows[0]?.n)).toEqual(Array(3).fill('live-pool-test-prepared'));

      // The swap: the new pool's three connections are readied by prepareSwapped, one login at a
      // time: the trial login, then two more, the first of them followed by a rest of twice its time
      // (none after the last): at least 3 x 50 ms of readying and 100 ms of rest.
      mostAtOnce = 0;
      const started = Date.now();
      expect(await pools.swap(url('app_green', 'green-pw-2'))).toMatchObject({ moved: true, readied: 3, wanted: 3 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * PREPARE_MS + 2 * PREPARE_MS);
      expect(mostAtOnce).toBe(1);
      expect(seen).toEqual(['prepared', 'prepared', 'prepared', 'swapped', 'swapped', 'swapped']);
      const after = await Promise.all(
        [1, 2, 3].map(() => pools.current().query<{ n: string }>(`select current_setting('application_name') as n`)),
      );
      expect(after.map((r) => r.rows[0]?.n)).toEqual(Array(3).fill('live-pool-test-swapped'));
      await until('the first pool drained', async () => {
        const now = await byName();
        return now['live-pool-test-swapped'] === 3 && Object.keys(now).length === 1;
      });
      const roles = await admin.query<{ role: string }>(
        `select distinct usename as role from pg_stat_activity where application_name like 'live-pool-test%'`,
      );
      expect(roles.rows.map((r) => r.role)).toEqual(['app_green']);
    } finally {
      await pools.end();
    }
  }, 60_000);

  it('spends at most its pacing budget on rests: a swap past withinMs goes on without them', async () => {
    const pools = createLivePool(url('app_blue', 'blue-pw-3'), {
      max: 4,
      applicationName: 'pool-budget-test',
      recentMs: 60_000, // what was in use before the swap, however slow the machine
      swapPacing: { restRatio: 10_000, withinMs: 300 },
    });
    try {
      expect(await pools.warm()).toBe(4);
      await inUseAtOnce(pools, 4);
      const started = Date.now();
      expect(await pools.swap(url('app_green', 'green-pw-2'))).toMatchObject({ moved: true, readied: 4, wanted: 4 });
      // Unbounded, the first rest alone (10,000 x a login of a few milliseconds) would be tens of seconds.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(pools.current().totalCount).toBe(4);
    } finally {
      await pools.end();
    }
  }, 60_000);

  it('readies no more connections past its deadline: the new pool serves and makes the rest on demand', async () => {
    const pools = createLivePool(url('app_blue', 'blue-pw-3'), {
      max: 4,
      applicationName: 'pool-deadline-test',
      recentMs: 60_000, // what was in use before the swap, however slow the machine
      // Rests of 10,000 x each login, within a minute: only the deadline ends this warm-up early.
      swapPacing: { restRatio: 10_000, withinMs: 60_000, deadlineMs: 300 },
    });
    try {
      expect(await pools.warm()).toBe(4);
      await inUseAtOnce(pools, 4);
      const started = Date.now();
      const swap = await pools.swap(url('app_green', 'green-pw-2'));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(swap).toMatchObject({ moved: true, wanted: 4 });
      if (!swap.moved) throw new Error('unreachable');
      expect(swap.readied).toBeLessThan(4);
      expect(swap.tookMs).toBeLessThan(5000);
      // Four at once: the pool makes the connections it was not given, as the new role.
      const roles = await Promise.all(
        [1, 2, 3, 4].map(() => pools.current().query<{ r: string }>('select current_user as r, pg_sleep(0.05)')),
      );
      expect(roles.map((r) => r.rows[0]?.r)).toEqual(Array(4).fill('app_green'));
      expect(pools.current().totalCount).toBe(4);
    } finally {
      await pools.end();
    }
  }, 60_000);

  it('says when new credentials do not log in, and keeps serving on the old ones', async () => {
    const pools = createLivePool(url('app_blue', 'blue-pw-3'), { max: 2, applicationName: 'pool-refused-test' });
    try {
      expect(await pools.swap(url('app_green', 'not-the-password'))).toEqual({ moved: false });
      expect(pools.role).toBe('app_blue');
      const r = await pools.current().query<{ r: string }>('select current_user as r');
      expect(r.rows[0]?.r).toBe('app_blue');
    } finally {
      await pools.end();
    }
  }, 60_000);

  it('readies as many connections as the old pool holds when it was used lately, one when not', async () => {
    const pools = createLivePool(url('app_blue', 'blue-pw-3'), {
      max: 4,
      applicationName: 'pool-recent-test',
      recentMs: 60_000,
    });
    try {
      expect(await pools.warm()).toBe(4); // the warm-up's own check-outs are not use
      // Used one query at a time: the swap readies all four the pool holds, not the one in use at once.
      await pools.current().query('select 1');
      await pools.current().query('select 1');
      expect(await pools.swap(url('app_green', 'green-pw-2'))).toMatchObject({ moved: true, wanted: 4, readied: 4 });
    } finally {
      await pools.end();
    }
    const idle = createLivePool(url('app_blue', 'blue-pw-3'), { max: 4, applicationName: 'pool-recent-test' });
    try {
      expect(await idle.warm()).toBe(4);
      // Unused since it was warmed: a swap readies one.
      expect(await idle.swap(url('app_green', 'green-pw-2'))).toMatchObject({ moved: true, wanted: 1, readied: 1 });
    } finally {
      await idle.end();
    }
  }, 60_000);
});

describe('createUseMeter', () => {
  it('keeps the most in use at once over its window, forgetting older seconds', () => {
    let now = 1_000_000;
    const meter = createUseMeter(3000, () => now);
    expect(meter.peak()).toBe(0);
    meter.record(2);
    meter.record(5);
    meter.record(1);
    expect(meter.peak()).toBe(5);
    now += 1000;
    meter.record(3);
    expect(meter.peak()).toBe(5);
    now += 2000; // the second of the 5 is now outside the 3 s window
    expect(meter.peak()).toBe(3);
    now += 1000;
    expect(meter.peak()).toBe(0);
    meter.record(4);
    expect(meter.peak()).toBe(4);
  });
});

/** Holds `n` connections of the pool busy at once (a short sleep on each). */
async function inUseAtOnce(pools: LivePool, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => pools.current().query('select pg_sleep(0.05)')));
}
