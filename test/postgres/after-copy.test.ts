/**
 * What replicate does around the initial copy on the target (issue 11):
 * - secondary indexes deferred past the copy (deferred-indexes.ts): the target's secondary indexes
 *   and UNIQUE constraints on its empty tables are dropped before the copy and built after it,
 *   exactly as they were (definitions, comments, CLUSTER ON); what replication or another object
 *   needs is left alone; undo builds whatever is still missing;
 * - each copied table vacuumed and analysed after that (visibility map and planner statistics made
 *   before the target serves, not by autovacuum's first pass later).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { parseTableName } from '../../src/data/postgres/connect.js';
import { connect } from '../../src/data/postgres/connect.js';
import { buildDeferred, deferrableIndexes, dropDeferred, indexKey } from '../../src/data/postgres/deferred-indexes.js';
import { verifyTables } from '../../src/data/postgres/verify/index.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeHarness, runSteps, undoSteps } from './step-harness.js';

let source: TestPostgres;
let target: TestPostgres;

/** Tables with one index of every kind the rule must tell apart. */
const SCHEMA = `
  create table public.parent (
    id bigint primary key,
    code text not null constraint parent_code_key unique,
    email text not null,
    kind int not null,
    tag text,
    score int not null,
    slot int not null,
    exclude using btree (slot with =));
  comment on constraint parent_code_key on public.parent is 'one code per parent';
  create index parent_email_lower on public.parent (lower(email)) where tag is not null;
  comment on index public.parent_email_lower is 'the login lookup; it''s partial';
  create index parent_kind on public.parent (kind desc, id) include (tag) with (fillfactor = 70);
  alter table public.parent cluster on parent_kind;
  create unique index parent_tag_uniq on public.parent (tag);
  create index parent_score on public.parent ((score * 2));
  alter index public.parent_score alter column 1 set statistics 500;
  create table public.child (
    id bigint primary key,
    parent_tag text references public.parent (tag),
    token uuid not null,
    note text);
  create unique index child_token on public.child (token);
  alter table public.child replica identity using index child_token;
  create index child_note on public.child (note);
  create table public.full (id int primary key, v text);
  create index full_v on public.full (v);
`;

const SEED = `
  insert into public.parent select g, 'c' || g, 'E' || g || '@x', g % 7, 't' || g, g % 100, g from generate_series(1, 20000) g;
  insert into public.child select g, 't' || (g % 20000 + 1), gen_random_uuid(), 'n' || g from generate_series(1, 20000) g;
  insert into public.full select g, 'v' || g from generate_series(1, 1000) g;
`;

/** Everything about the indexes and constraints of the test's tables that a rebuild must keep. */
async function shape(db: string): Promise<string[]> {
  const r = await target.query<{ line: string }>(
    `select concat_ws(' | ', c.relname, pg_get_indexdef(i.indexrelid), i.indisclustered::text, i.indisreplident::text,
                      coalesce(obj_description(i.indexrelid, 'pg_class'), '-')) as line
       from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
      where t.relnamespace = 'public'::regnamespace
     union all
     select concat_ws(' | ', con.conname, pg_get_constraintdef(con.oid), coalesce(obj_description(con.oid, 'pg_constraint'), '-'))
       from pg_constraint con where con.connamespace = 'public'::regnamespace
     order by 1`,
    [],
    db,
  );
  return r.rows.map((row) => row.line);
}

async function indexNames(db: string): Promise<string[]> {
  const r = await target.query<{ n: string }>(
    `select c.relname as n from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
      where t.relnamespace = 'public'::regnamespace order by 1`,
    [],
    db,
  );
  return r.rows.map((row) => row.n);
}

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const db of ['rule', 'steps', 'undo', 'lag']) {
    await source.createDatabase(db);
    await target.createDatabase(db);
    await source.query(SCHEMA + SEED, [], db);
    await target.query(SCHEMA, [], db);
  }
  // One table the target already holds rows in: its index is not deferred.
  await target.query(`insert into public.full values (1, 'there')`, [], 'rule');
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

const TABLES = ['public.parent', 'public.child', 'public.full'].map((t) => parseTableName(t));

/** The data plane and a step harness for one of the test's databases. */
function setup(runId: string, database: string) {
  const plane = createPostgresDataPlane({ copyTimeoutMs: 120_000, markerTimeoutMs: 30_000 });
  const harness = makeHarness({ runId, database, sourceUrl: source.url(database), targetUrl: target.url(database) });
  return { plane, ...harness };
}

describe('deferred indexes', () => {
  it('defers plain and unique indexes and UNIQUE constraints only, and builds them back exactly as they were', async () => {
    const before = await shape('rule');
    const client = await connect(target.url('rule'), { name: 'target' });
    try {
      const deferred = await deferrableIndexes(client, TABLES);
      // Not: the primary keys, the exclusion constraint, parent_tag_uniq (a foreign key references it),
      // parent_score (a statistics target), child_token (the replica identity), full_v (rows there).
      expect(deferred.map(indexKey)).toEqual([
        'public.child_note',
        'public.parent_code_key',
        'public.parent_email_lower',
        'public.parent_kind',
      ]);
      expect(deferred.find((d) => d.name === 'parent_code_key')?.constraint).toMatchObject({
        name: 'parent_code_key',
        def: 'UNIQUE (code)',
        comment: 'one code per parent',
      });
      expect(await dropDeferred(client, deferred)).toBe(4);
      expect(await dropDeferred(client, deferred)).toBe(0);
      expect(await indexNames('rule')).not.toContain('parent_kind');
      expect(await shape('rule')).not.toEqual(before);
      for (const index of deferred) expect(await buildDeferred(client, index)).toBe(true);
      for (const index of deferred) expect(await buildDeferred(client, index)).toBe(false);
    } finally {
      await client.end();
    }
    expect(await shape('rule')).toEqual(before);
  });

  it('replicate: the copy runs without them, they are built after it and its backlog, before the catch-up; the tables are identical', async () => {
    const before = await shape('steps');
    const { plane, ctx, events } = setup('defer', 'steps');
    const steps = plane.replicationSteps(ctx.plan.spec.data[0]!);
    const copy = steps.findIndex((s) => s.name.endsWith('initial-copy'));
    const results = await runSteps(ctx, steps.slice(0, copy));
    // What the copy meets on the target: the primary keys and the replica identity only.
    const duringCopy = await indexNames('steps');
    Object.assign(results, await runSteps(ctx, steps.slice(copy)));
    expect(duringCopy).not.toContain('parent_kind');
    expect(duringCopy).not.toContain('parent_code_key');
    expect(duringCopy).toContain('parent_pkey');
    expect(duringCopy).toContain('child_token');
    const types = events.map((e) => e.type);
    const deferredAt = types.indexOf('pg-indexes-deferred');
    const firstCopy = types.indexOf('pg-copy-progress');
    const lastCopy = types.lastIndexOf('pg-copy-progress');
    const built = types.flatMap((type, i) => (type === 'pg-index-built' ? [i] : []));
    // Two markers: the copy's backlog applied (first thing in build-indexes), then the catch-up step's.
    const backlogApplied = types.indexOf('pg-marker-seen');
    const caughtUp = types.lastIndexOf('pg-marker-seen');
    expect(deferredAt).toBeGreaterThanOrEqual(0);
    expect(deferredAt).toBeLessThan(firstCopy);
    expect(built).toHaveLength(5); // full_v too: the target's full table was empty here
    expect(Math.min(...built)).toBeGreaterThan(lastCopy);
    expect(backlogApplied).toBeGreaterThan(lastCopy);
    expect(Math.min(...built)).toBeGreaterThan(backlogApplied);
    expect(Math.max(...built)).toBeLessThan(caughtUp);
    const step = Object.entries(results).find(([name]) => name.endsWith('build-indexes'))?.[1];
    expect(step).toMatchObject({ built: 5 });
    expect(await shape('steps')).toEqual(before);
    // Vacuumed and analysed after the builds, before the catch-up: visibility map and statistics there.
    const vacuumed = types.flatMap((type, i) => (type === 'pg-table-vacuumed' ? [i] : []));
    expect(vacuumed).toHaveLength(3);
    expect(Math.min(...vacuumed)).toBeGreaterThan(Math.max(...built));
    expect(Math.max(...vacuumed)).toBeLessThan(caughtUp);
    const made = await target.query<{ relname: string; visible: boolean; stats: boolean }>(
      `select c.relname, c.relallvisible > 0 as visible,
              exists (select 1 from pg_statistic s where s.starelid = c.oid) as stats
         from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1`,
      [],
      'steps',
    );
    expect(made.rows).toEqual(['child', 'full', 'parent'].map((relname) => ({ relname, visible: true, stats: true })));
    const report = await verifyTables({
      source: source.url('steps'),
      target: target.url('steps'),
      tables: TABLES,
      chunkRows: 5000,
    });
    expect(report.identical).toBe(true);
    await undoSteps(ctx, steps);
    expect(await shape('steps')).toEqual(before);
  });

  it('with table sync, builds them only once the subscription has caught up with the copy (replication lag watched)', async () => {
    // (After the chunked copy the step applies the copy's backlog itself first: copy-throttle.test.ts.)
    const { plane, ctx, events } = setup('lagged', 'lag');
    const base = ctx.plan.spec.data[0]!;
    const entry = {
      ...base,
      copy: { ...base.copy, method: 'table-sync' as const },
      throttle: {
        ...base.throttle,
        checkInterval: '50ms',
        maxReplicationLag: '300ms',
        maxSourceLoad: { activeBackends: 1000 },
      },
    };
    const steps = plane.replicationSteps(entry);
    const build = steps.findIndex((s) => s.name.endsWith('build-indexes'));
    await runSteps(ctx, steps.slice(0, build));
    const sub = await target.query<{ name: string }>(
      `select subname as name from pg_subscription where subdbid = (select oid from pg_database where datname = current_database())`,
      [],
      'lag',
    );
    const name = sub.rows[0]?.name;
    expect(name).toEqual(expect.any(String));
    // The target stops applying: a marker written on the source does not arrive.
    await target.query(`alter subscription "${name}" disable`, [], 'lag');
    const building = runSteps(ctx, [steps[build]!]);
    const pausedForLag = () =>
      events.some(
        (e) =>
          e.type === 'throttle-paused' &&
          (e.data as { work: string; reason: string }).work === 'index-build' &&
          (e.data as { reason: string }).reason === 'replication-lag',
      );
    const deadline = Date.now() + 20_000;
    while (!pausedForLag() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(pausedForLag()).toBe(true);
    expect(events.some((e) => e.type === 'pg-index-built')).toBe(false);
    await target.query(`alter subscription "${name}" enable`, [], 'lag');
    await building;
    const types = events.map((e) => e.type);
    const resumed = types.lastIndexOf('throttle-resumed');
    const built = types.flatMap((type, i) => (type === 'pg-index-built' ? [i] : []));
    expect(built).toHaveLength(5);
    expect(Math.min(...built)).toBeGreaterThan(resumed);
    await undoSteps(ctx, steps);
  });

  it('undo builds every index still deferred; copy.deferIndexes: false leaves them in place, copy.vacuum: false vacuums nothing', async () => {
    const before = await shape('undo');
    const { plane, ctx, events } = setup('deferundo', 'undo');
    const steps = plane.replicationSteps(ctx.plan.spec.data[0]!);
    const upTo = steps.slice(0, steps.findIndex((s) => s.name.endsWith('defer-indexes')) + 1);
    await runSteps(ctx, upTo);
    expect(events.some((e) => e.type === 'pg-indexes-deferred')).toBe(true);
    expect(await indexNames('undo')).not.toContain('child_note');
    // A replay finds its record and drops nothing twice.
    await runSteps(ctx, upTo.slice(-1));
    await undoSteps(ctx, upTo);
    expect(await shape('undo')).toEqual(before);

    const kept = {
      ...ctx.plan.spec.data[0]!,
      copy: { method: 'snapshot-chunks' as const, deferIndexes: false, vacuum: false },
    };
    const off = setup('deferoff', 'undo');
    const offSteps = plane.replicationSteps(kept);
    const defer = offSteps.find((s) => s.name.endsWith('defer-indexes'))!;
    expect(await runSteps(off.ctx, offSteps.slice(0, offSteps.indexOf(defer) + 1))).toMatchObject({
      [defer.name]: { indexes: [] },
    });
    expect(await shape('undo')).toEqual(before);
    const vacuum = offSteps.find((s) => s.name.endsWith('vacuum-copied'))!;
    expect(await vacuum.run(off.ctx)).toEqual({ tables: 0 });
    await undoSteps(off.ctx, offSteps.slice(0, offSteps.indexOf(defer) + 1));
  });
});
