/**
 * The initial copy yields to the service (issue 11, point 3): a latency breach seen in the run's
 * `traffic-sample` events pauses the copy and it completes when the breach clears. The chunked copy
 * (the default) pauses between two chunks and goes on from the next one: nothing is copied twice.
 * Native table sync (`copy.method: table-sync`) pauses by disabling the subscription (its workers
 * stop) and lets a long table copy finish, since a cut one starts again from its first row. The
 * chunked copy's backlog (what was written during it) is applied after it under the same pacer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_MAX_CHUNK_ROWS } from '../../src/data/postgres/copy/chunked-copy.js';
import { TRAFFIC_BASELINE_KEY } from '../../src/data/throttle/baseline.js';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import type { TrafficSampleEvent } from '../../src/report/events.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness, runSteps, testPlan } from './step-harness.js';
import { APP_PASSWORD, SHOP_GRANTS, SHOP_SCHEMA } from './workload.js';

const ROWS = 600_000;
let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query(`create role app login password '${APP_PASSWORD}'`);
    await server.createDatabase('shop');
    await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], 'shop');
  }
  for (const db of ['shop', 'shop2', 'shop3', 'shop4']) {
    if (db !== 'shop')
      for (const server of [source, target]) {
        await server.createDatabase(db);
        await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], db);
      }
    await source.query(
      `insert into public.items select g, 1, 'sku-' || g, g % 9 from generate_series(1, ${ROWS}) g; analyze;`,
      [],
      db,
    );
  }
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

function sample(p99Ms: number): TrafficSampleEvent {
  const cls = { requests: 100, errors: 0, errorRate: 0, p50Ms: p99Ms / 2, p99Ms };
  return { sites: { source: { reads: cls, writes: cls } }, windowMs: 1000 };
}

async function subscriptionEnabled(db = 'shop'): Promise<boolean | null> {
  const r = await target.query<{ e: boolean }>(
    `select subenabled as e from pg_subscription where subdbid = (select oid from pg_database where datname = current_database())`,
    [],
    db,
  );
  return r.rows[0]?.e ?? null;
}

async function until(what: string, condition: () => Promise<boolean>, boundMs: number): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('initial copy paced by the throttle', () => {
  it('snapshot-chunks: pauses between chunks on a latency breach and goes on from the next chunk when it clears', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const base = testPlan('shop3').spec.data[0]!;
    const entry = {
      ...base,
      throttle: { ...base.throttle, checkInterval: '50ms', maxSourceLoad: { activeBackends: 1000 } },
    };
    expect(entry.copy.method).toBe('snapshot-chunks');
    const { ctx, bus, events } = makeHarness({
      runId: 'copychunks',
      database: 'shop3',
      sourceUrl: source.url('shop3'),
      targetUrl: target.url('shop3'),
    });
    const copiedSoFar = (): number => {
      const last = events.filter((event) => event.type === 'pg-copy-progress').at(-1);
      return ((last?.data as { tables?: Array<{ rowsCopied: number | null }> })?.tables ?? []).reduce(
        (sum, t) => sum + (t.rowsCopied ?? 0),
        0,
      );
    };
    // The baseline as the copy starts; the breach once the first chunks are in.
    let started = false;
    let breached = false;
    bus.on((event) => {
      if (event.type !== 'pg-copy-progress') return;
      if (!started) {
        started = true;
        bus.emit('traffic-sample', sample(10), { actor: 'router' });
      } else if (!breached && copiedSoFar() > 0) {
        breached = true;
        for (let i = 0; i < 3; i++) bus.emit('traffic-sample', sample(400), { actor: 'router' });
      }
    });
    const targetRows = async (): Promise<number> =>
      Number(
        (await target.query<{ n: string }>(`select count(*)::text as n from public.items`, [], 'shop3')).rows[0]?.n,
      );
    const run = runSteps(ctx, plane.replicationSteps(entry));
    try {
      await until('the pause', async () => events.some((event) => event.type === 'throttle-paused'), 60_000);
      // Paused between chunks: what is on the target stays put, part of the table.
      const atPause = await targetRows();
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await targetRows()).toBe(atPause);
      expect(atPause).toBeGreaterThan(0);
      expect(atPause).toBeLessThan(ROWS);
      expect(events.some((event) => event.type === 'throttle-resumed')).toBe(false);
      for (let i = 0; i < 5; i++) bus.emit('traffic-sample', sample(11), { actor: 'router' });
      const results = await run;
      const throttle = events.filter((event) => event.type.startsWith('throttle-'));
      expect(throttle.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
      expect(throttle[0]?.data).toMatchObject({ work: 'copy', reason: 'latency', value: 400, limit: 20 });
      expect((throttle[1]?.data as { pausedMs: number }).pausedMs).toBeGreaterThanOrEqual(400);
      // Not started again: every row copied exactly once, in many chunks, and no table-sync pause/unpausable.
      const copy = Object.entries(results).find(([name]) => name.endsWith('initial-copy'))?.[1];
      expect(copy).toMatchObject({ method: 'snapshot-chunks', throttlePauses: 1, restarted: false, rows: ROWS });
      expect((copy as { chunks: number }).chunks).toBeGreaterThanOrEqual(ROWS / COPY_MAX_CHUNK_ROWS);
      expect(events.some((event) => event.type === 'pg-copy-unpausable' || event.type === 'pg-copy-restarted')).toBe(
        false,
      );
      const progress = events
        .filter((event) => event.type === 'pg-copy-progress')
        .map((event) => (event.data as { tables: Array<{ rowsCopied: number }> }).tables)
        .map((tables) => tables.reduce((sum, t) => sum + t.rowsCopied, 0));
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(ROWS);
      const [a, b] = await Promise.all([
        source.query<{ n: string; h: string }>(
          `select count(*)::text as n, sum(hashtext(sku))::text as h from public.items`,
          [],
          'shop3',
        ),
        target.query<{ n: string; h: string }>(
          `select count(*)::text as n, sum(hashtext(sku))::text as h from public.items`,
          [],
          'shop3',
        ),
      ]);
      expect(b.rows[0]).toEqual(a.rows[0]);
    } finally {
      await run.catch(() => undefined);
    }
  }, 180_000);
  it("snapshot-chunks: the copy's backlog waits, subscription disabled, while latency is over its budget, then is applied", async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const base = testPlan('shop4').spec.data[0]!;
    const entry = {
      ...base,
      copy: { method: 'snapshot-chunks' as const, deferIndexes: true, vacuum: false },
      throttle: { ...base.throttle, checkInterval: '50ms', maxSourceLoad: { activeBackends: 1000 } },
    };
    const { ctx, bus, events } = makeHarness({
      runId: 'copybacklog',
      database: 'shop4',
      sourceUrl: source.url('shop4'),
      targetUrl: target.url('shop4'),
    });
    ctx.state.set(TRAFFIC_BASELINE_KEY, { p99Ms: 10, samples: 5, windowMs: 5000 });
    // Written during the copy, after its snapshot: the slot's backlog.
    const BACKLOG = 2000;
    let writing: Promise<unknown> | null = null;
    // The service over its budget from the copy's end on (the signal is the median of the latest
    // five samples; the catch-up's pacer hears the samples sent after its step begins).
    let breach: NodeJS.Timeout | undefined;
    let enabledAtCreation: Promise<boolean | null> | undefined;
    bus.on((event) => {
      if (event.type === 'pg-copy-progress' && !writing)
        writing = source.query(
          `insert into public.items select g, 1, 'late-' || g, 1 from generate_series(${ROWS + 1}, ${ROWS + BACKLOG}) g`,
          [],
          'shop4',
        );
      const data = event.data as { what?: string; action?: string };
      if (event.type === 'pg-replication-changed' && data.what === 'subscription' && data.action === 'created') {
        breach ??= setInterval(() => bus.emit('traffic-sample', sample(400), { actor: 'router' }), 5);
        enabledAtCreation ??= subscriptionEnabled('shop4');
      }
    });
    const backlogOnTarget = async (): Promise<number> =>
      Number(
        (
          await target.query<{ n: string }>(
            `select count(*)::text as n from public.items where order_id > ${ROWS}`,
            [],
            'shop4',
          )
        ).rows[0]?.n,
      );
    const catchUpPaused = (): boolean =>
      events.some((event) => event.type === 'throttle-paused' && (event.data as { work: string }).work === 'catch-up');
    const run = runSteps(ctx, plane.replicationSteps(entry));
    try {
      try {
        await until('the pause of the catch-up', async () => catchUpPaused(), 120_000);
      } finally {
        clearInterval(breach);
      }
      // The backlog was written before the copy ended (its first chunk was in by then).
      expect(writing).not.toBeNull();
      await writing;
      // Made disabled and kept so: nothing of the backlog reaches the target while paused.
      expect(await enabledAtCreation).toBe(false);
      expect(await subscriptionEnabled('shop4')).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await backlogOnTarget()).toBe(0);
      expect(events.some((event) => event.type === 'throttle-resumed')).toBe(false);
      for (let i = 0; i < 5; i++) bus.emit('traffic-sample', sample(11), { actor: 'router' });
      const results = await run;
      expect(await subscriptionEnabled('shop4')).toBe(true);
      expect(await backlogOnTarget()).toBe(BACKLOG);
      const paced = events.filter(
        (event) => event.type.startsWith('throttle-') && (event.data as { work: string }).work === 'catch-up',
      );
      expect(paced.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
      expect(paced[0]?.data).toMatchObject({ reason: 'latency', value: 400, limit: 20 });
      expect((paced[1]?.data as { pausedMs: number }).pausedMs).toBeGreaterThanOrEqual(400);
      const build = Object.entries(results).find(([name]) => name.endsWith('build-indexes'))?.[1];
      expect(build).toMatchObject({ catchUp: { throttlePauses: 1 } });
      const [a, b] = await Promise.all(
        [source, target].map((server) =>
          server.query<{ n: string; h: string }>(
            `select count(*)::text as n, sum(hashtext(sku))::text as h from public.items`,
            [],
            'shop4',
          ),
        ),
      );
      expect(b?.rows[0]).toEqual(a?.rows[0]);
    } finally {
      await run.catch(() => undefined);
    }
  }, 240_000);

  it('table-sync: pauses (subscription disabled) on a latency breach and completes after it clears', async () => {
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
    const base = testPlan('shop').spec.data[0]!;
    const entry = {
      ...base,
      copy: { method: 'table-sync' as const, deferIndexes: true, vacuum: true },
      throttle: { ...base.throttle, checkInterval: '50ms', maxSourceLoad: { activeBackends: 1000 } },
    };
    const { ctx, bus, events } = makeHarness({
      runId: 'copythrottle',
      database: 'shop',
      sourceUrl: source.url('shop'),
      targetUrl: target.url('shop'),
    });
    // The baseline sample arrives as the copy starts; the breach a moment later.
    let started = false;
    bus.on((event) => {
      if (event.type === 'pg-copy-progress' && !started) {
        started = true;
        bus.emit('traffic-sample', sample(10), { actor: 'router' });
      }
    });
    const run = runSteps(ctx, plane.replicationSteps(entry));
    try {
      await until('the copy start', async () => started, 60_000);
      // the copy polls every 200 ms: let it read the baseline before the breach
      await new Promise((resolve) => setTimeout(resolve, 500));
      // the signal is the median of the latest five samples: a breach is most of them
      for (let i = 0; i < 3; i++) bus.emit('traffic-sample', sample(400), { actor: 'router' });
      await until('the pause', async () => events.some((event) => event.type === 'throttle-paused'), 10_000);
      await until('the subscription disabled', async () => (await subscriptionEnabled()) === false, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events.some((event) => event.type === 'throttle-resumed')).toBe(false);
      for (let i = 0; i < 5; i++) bus.emit('traffic-sample', sample(11), { actor: 'router' });
      const results = await run;
      expect(await subscriptionEnabled()).toBe(true);
      const throttle = events.filter((event) => event.type.startsWith('throttle-'));
      expect(throttle.map((event) => event.type)).toEqual(['throttle-paused', 'throttle-resumed']);
      expect(throttle[0]?.data).toMatchObject({ work: 'copy', reason: 'latency', value: 400, limit: 20 });
      expect((throttle[1]?.data as { pausedMs: number }).pausedMs).toBeGreaterThanOrEqual(300);
      const copy = Object.entries(results).find(([name]) => name.endsWith('initial-copy'))?.[1];
      expect(copy).toMatchObject({ throttlePauses: 1 });
      const [a, b] = await Promise.all([
        source.query<{ n: string; h: string }>(
          `select count(*)::text as n, sum(hashtext(sku))::text as h from public.items`,
          [],
          'shop',
        ),
        target.query<{ n: string; h: string }>(
          `select count(*)::text as n, sum(hashtext(sku))::text as h from public.items`,
          [],
          'shop',
        ),
      ]);
      expect(b.rows[0]).toEqual(a.rows[0]);
      expect(Number(b.rows[0]?.n)).toBe(ROWS);
    } finally {
      await run.catch(() => undefined);
    }
  }, 180_000);
  it('table-sync: lets a copy that has run past cutCopyMaxMs finish: a pause would start it again from its first row', async () => {
    // cutCopyMaxMs 0: any copy in progress counts as long, so the breach below comes too late to cut it.
    const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000, cutCopyMaxMs: 0 });
    const base = testPlan('shop2').spec.data[0]!;
    const entry = {
      ...base,
      copy: { method: 'table-sync' as const, deferIndexes: true, vacuum: true },
      throttle: { ...base.throttle, checkInterval: '50ms', maxSourceLoad: { activeBackends: 1000 } },
    };
    const { ctx, bus, events } = makeHarness({
      runId: 'copylong',
      database: 'shop2',
      sourceUrl: source.url('shop2'),
      targetUrl: target.url('shop2'),
    });
    let copying = false;
    bus.on((event) => {
      const tables = (event.data as { tables?: Array<{ state: string }> }).tables ?? [];
      if (event.type === 'pg-copy-progress' && !copying && tables.some((t) => t.state === 'd')) {
        copying = true;
        bus.emit('traffic-sample', sample(10), { actor: 'router' });
        for (let i = 0; i < 5; i++) bus.emit('traffic-sample', sample(400), { actor: 'router' });
      }
    });
    const run = runSteps(ctx, plane.replicationSteps(entry));
    try {
      await until('a table copying', async () => copying, 60_000);
      await until(
        'the copy declared unpausable',
        async () => events.some((event) => event.type === 'pg-copy-unpausable'),
        10_000,
      );
      const results = await run;
      // Never disabled while copying: no pause, the breach notwithstanding, and every row arrived once.
      expect(events.filter((event) => event.type === 'throttle-paused')).toEqual([]);
      // Every table seen copying was let finish (which one is caught copying first depends on timing).
      const unpausable = events.filter((event) => event.type === 'pg-copy-unpausable').map((event) => event.data);
      expect(unpausable.length).toBeGreaterThan(0);
      for (const data of unpausable)
        expect(data).toMatchObject({ database: 'shop2', table: expect.any(String), cutCopyMaxMs: 0 });
      const copy = Object.entries(results).find(([name]) => name.endsWith('initial-copy'))?.[1];
      expect(copy).toMatchObject({ throttlePauses: 0 });
      const n = await target.query<{ n: string }>(`select count(*)::text as n from public.items`, [], 'shop2');
      expect(Number(n.rows[0]?.n)).toBe(ROWS);
      expect(await subscriptionEnabled('shop2')).toBe(true);
    } finally {
      await run.catch(() => undefined);
    }
  }, 180_000);
});
