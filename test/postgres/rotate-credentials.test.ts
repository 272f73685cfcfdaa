import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError } from '../../src/common/errors.js';
import { createPostgresDataPlane, pgEnv } from '../../src/data/postgres/data-plane.js';
import { urlAs } from '../../src/data/postgres/replication-role.js';
import { rotateCredentialsStep } from '../../src/data/postgres/rotate-credentials.js';
import { migration } from '../../src/plan/schema.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness, runSteps } from './step-harness.js';

let source: TestPostgres;
let target: TestPostgres;

const schema = `
  create table public.orders (id bigint generated always as identity primary key, customer text not null);
  grant usage on schema public to app;
  grant select, insert on public.orders to app;
  grant usage on sequence public.orders_id_seq to app;
`;

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query(`create role app nologin; create role app_blue login password 'blue-Pw-1' in role app`);
    await server.createDatabase('shop');
    await server.query(schema, [], 'shop');
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

/** A service that re-reads its credentials before each request and moves its session when they change. */
function startService(server: TestPostgres, credentials: () => { user: string; password: string }) {
  const state = { ok: 0, failed: 0, errors: [] as string[], users: new Set<string>(), stop: false };
  const done = (async () => {
    let client: pg.Client | null = null;
    let as = '';
    while (!state.stop) {
      const c = credentials();
      try {
        if (!client || as !== `${c.user}\u0000${c.password}`) {
          const next = new pg.Client({ connectionString: urlAs(server.url('shop'), c.user, c.password) });
          await next.connect();
          const old = client;
          client = next;
          as = `${c.user}\u0000${c.password}`;
          await old?.end();
        }
        const r = await client.query<{ u: string }>(
          `insert into public.orders (customer) values (current_user) returning current_user as u`,
        );
        state.users.add(r.rows[0]?.u ?? '');
        state.ok += 1;
      } catch (error) {
        state.failed += 1;
        state.errors.push((error as Error).message);
        client = null;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await client?.end();
  })();
  return {
    state,
    async stop() {
      state.stop = true;
      await done;
    },
  };
}

describe('rotate-credentials: blue/green application roles', () => {
  it('rotates the password mid-run with no failed request and replication still flowing; a failed exchange is a retryable event', async () => {
    const GREEN = 'green-Pw-' + Date.now();
    const plan = migration.parse({
      apiVersion: 'handoff.dev/v1alpha1',
      kind: 'Migration',
      metadata: { name: 'rotate' },
      spec: {
        source: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'SRC' } } } },
        target: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'TGT' } } } },
        data: [
          {
            database: 'shop',
            access: {
              rotation: {
                group: 'app',
                roles: ['app_blue', 'app_green'],
                password: { fromEnv: 'APP_NEXT_PASSWORD' },
                startAfter: '300ms',
                retireAfter: '5s',
              },
            },
          },
        ],
      },
    });
    const entry = plan.spec.data[0]!;
    const { ctx, events, bus } = makeHarness({
      runId: 'rot1',
      database: 'shop',
      sourceUrl: source.url('shop'),
      targetUrl: target.url('shop'),
    });
    Object.assign(ctx, { plan });
    let secretStoreDown = false;
    let next = GREEN;
    Object.assign(ctx.secrets, {
      resolve: () => {
        if (secretStoreDown) throw new Error('secret store unavailable (ECONNRESET)');
        ctx.redactor.add(next);
        return next;
      },
    });
    await runSteps(ctx, createPostgresDataPlane({ copyTimeoutMs: 60_000 }).replicationSteps(entry));

    // The service's credentials come from its secret store; the rotation event says which role is live.
    let credentials = { user: 'app_blue', password: 'blue-Pw-1' };
    const rotatedAt: number[] = [];
    bus.on((event) => {
      if (event.type !== 'pg-credentials-rotated') return;
      rotatedAt.push(Date.now());
      credentials = { user: (event.data as { live: string }).live, password: next };
    });
    const service = startService(source, () => credentials);
    try {
      await expect.poll(() => service.state.ok, { timeout: 10_000 }).toBeGreaterThan(20);
      const step = rotateCredentialsStep(pgEnv(entry, {}));
      const stepStarted = Date.now();
      const result = (await step.run(ctx)) as { live: string; retired: string; terminated: number };
      // startAfter: the service settles after the cutover before its credentials change.
      expect(rotatedAt[0]! - stepStarted).toBeGreaterThanOrEqual(290);
      expect(result).toMatchObject({ live: 'app_green', retired: 'app_blue', terminated: 0 });
      const after = service.state.ok;
      await expect.poll(() => service.state.ok, { timeout: 10_000 }).toBeGreaterThan(after + 20);
      expect(service.state.users).toEqual(new Set(['app_blue', 'app_green']));

      // Replication does not use the application's roles: rows written as app_green arrive on the target.
      await expect
        .poll(
          async () =>
            (
              await target.query<{ n: number }>(
                `select count(*)::int as n from public.orders where customer = 'app_green'`,
                [],
                'shop',
              )
            ).rows[0]?.n,
          { timeout: 20_000, interval: 200 },
        )
        .toBeGreaterThan(0);
      for (const server of [source, target]) {
        const r = await server.query<{ r: string; l: boolean }>(
          `select rolname as r, rolcanlogin as l from pg_roles where rolname like 'app\\_%' order by 1`,
        );
        expect(r.rows).toEqual([
          { r: 'app_blue', l: false },
          { r: 'app_green', l: true },
        ]);
      }

      // The next exchange fails (the secret store is down): a visible, retryable event; app_green still works.
      secretStoreDown = true;
      next = 'blue-Pw-2-' + Date.now();
      const failed = await step.run(ctx).catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(AdapterError);
      expect((failed as AdapterError).retryable).toBe(true);
      expect(events.filter((e) => e.type === 'pg-credentials-rotation-failed').map((e) => e.data)).toEqual([
        expect.objectContaining({ live: 'app_green', standby: 'app_blue', retryable: true }),
      ]);
      const okBefore = service.state.ok;
      await expect.poll(() => service.state.ok, { timeout: 10_000 }).toBeGreaterThan(okBefore + 5);
      // Retried once the store is back: the same rotation completes, to app_blue.
      secretStoreDown = false;
      const retried = (await step.run(ctx)) as { live: string; rotation: number };
      expect(retried).toMatchObject({ live: 'app_blue', rotation: 2 });
      const okRetried = service.state.ok;
      await expect.poll(() => service.state.ok, { timeout: 10_000 }).toBeGreaterThan(okRetried + 5);
    } finally {
      await service.stop();
    }
    expect(service.state.errors).toEqual([]);
    expect(service.state.failed).toBe(0);
    const rotated = events
      .filter((e) => e.type === 'pg-credentials-rotated')
      .map((e) => (e.data as { live: string }).live);
    expect(rotated).toEqual(['app_green', 'app_blue']);
    expect(JSON.stringify([events, ctx.state.get('pg.shop.rotation')])).not.toContain(GREEN);
  });
});
