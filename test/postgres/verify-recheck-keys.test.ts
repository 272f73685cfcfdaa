/**
 * The cutover seam: `recheckKeys` compares only the named (dirty) keys, one row hash per key on each
 * side; `'all'` compares the whole table. Discovery leaves handoff's own schema out.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/data/postgres/connect.js';
import { readTableShape, readTableShapes } from '../../src/data/postgres/verify/catalog.js';
import { readRecheckCatalog, recheckKeys, recheckTables } from '../../src/data/postgres/verify/recheck-keys.js';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import { countQueries } from '../support/count-queries.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

/** The same client, counting its statements in flight together with those of others sharing `state`. */
function trackOverlap(client: pg.Client, state: { now: number; most: number }): pg.Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return async (...args: unknown[]) => {
          state.now++;
          state.most = Math.max(state.most, state.now);
          try {
            return await (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            state.now--;
          }
        };
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const setup = `
  create table t (region text, id int, doc json, n numeric, primary key (region, id));
  insert into t select (array['eu','us'])[1 + g % 2], g, ('{"g": ' || g || '}')::json, g / 4.0 from generate_series(1, 400) g;
  create table u (id uuid primary key, v text);
  insert into u select ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, 'v' || g from generate_series(1, 50) g;
  create table bag (a int, b text);
  insert into bag select g % 10, 'b' || g from generate_series(1, 100) g;`;

describe('recheckKeys (cutover re-check of dirty keys)', () => {
  let server: TestPostgres;
  let source: pg.Client;
  let target: pg.Client;

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('a');
    await server.createDatabase('b');
    await server.query(setup, [], 'a');
    await server.query(
      `${setup}
       update t set doc = '{"g":  5}' where (region, id) = ('us', 5);
       update t set n = 2.50 where (region, id) = ('eu', 10);
       delete from t where (region, id) = ('us', 7);
       insert into t values ('ap', 1, null, null);
       update t set n = -1 where (region, id) = ('eu', 300); -- not among the dirty keys: not looked at
       update bag set b = 'changed' where b = 'b50';
       update u set v = 'w' where id = '00000000-0000-0000-0000-000000000003';
       create schema handoff; create table handoff.marker (seq int primary key);`,
      [],
      'b',
    );
    source = await connect(server.url('a'), { name: 'source' });
    target = await connect(server.url('b'), { name: 'target' });
  });

  afterAll(async () => {
    await Promise.all([source?.end(), target?.end()]);
    await server?.close();
  });

  it('classifies exactly the dirty keys it is given', async () => {
    const keys = [
      ['us', '5'],
      ['eu', '10'],
      ['us', '7'],
      ['ap', '1'],
      ['eu', '12'],
      ['us', '5'],
    ];
    const found = await recheckKeys({ source, target, table: { schema: 'public', name: 't' }, keys });
    expect(found).toEqual({
      table: 'public.t',
      missing: [['us', '7']],
      extra: [['ap', '1']],
      changed: [
        ['us', '5'],
        ['eu', '10'],
      ],
      wholeTable: false,
    });
  });

  it("compares the whole table for 'all' and for a table without a primary key", async () => {
    const all = await recheckKeys({ source, target, table: { schema: 'public', name: 't' }, keys: 'all' });
    expect(all.wholeTable).toBe(true);
    expect(all.changed).toEqual([
      ['eu', '10'],
      ['eu', '300'],
      ['us', '5'],
    ]);
    expect(all.missing).toEqual([['us', '7']]);
    expect(all.extra).toEqual([['ap', '1']]);
    const bag = await recheckKeys({ source, target, table: { schema: 'public', name: 'bag' }, keys: [['x']] });
    expect(bag.wholeTable).toBe(true);
    expect(bag.changed).toEqual([[]]);
  });

  it('rechecks several tables at once as it does one by one, with the catalogs read once per side', async () => {
    const t = { schema: 'public', name: 't' };
    const u = { schema: 'public', name: 'u' };
    const bag = { schema: 'public', name: 'bag' };
    const tables = [
      {
        table: t,
        keys: [
          ['us', '5'],
          ['us', '7'],
          ['eu', '11'],
        ],
      },
      { table: u, keys: [['00000000-0000-0000-0000-000000000003'], ['00000000-0000-0000-0000-000000000004']] },
      { table: bag, keys: [['x']] },
      { table: t, keys: 'all' as const },
    ];
    const oneByOne = [];
    for (const entry of tables) oneByOne.push(await recheckKeys({ source, target, ...entry }));
    expect(oneByOne[1]?.changed).toEqual([['00000000-0000-0000-0000-000000000003']]);

    // Round trips per side: shapes and hash functions once for the two keyed tables, then one hash
    // query for both (it was one per table); the whole-table comparisons open their own reads.
    const keyedOnly = tables.slice(0, 2);
    const trips = { n: 0 };
    const targetTrips = { n: 0 };
    const together = await recheckTables({
      source: countQueries(source, trips),
      target: countQueries(target, targetTrips),
      tables: keyedOnly,
    });
    expect(together).toEqual(oneByOne.slice(0, 2));
    expect(trips.n).toBe(3);
    expect(targetTrips.n).toBe(3);

    // With the catalog read beforehand (the cutover reads it before the hold): the hash query alone.
    const catalog = await readRecheckCatalog(source, target, [t, u, bag]);
    const prepared = { source: { n: 0 }, target: { n: 0 } };
    const fast = await recheckTables({
      source: countQueries(source, prepared.source),
      target: countQueries(target, prepared.target),
      tables: keyedOnly,
      catalog,
    });
    expect(fast).toEqual(oneByOne.slice(0, 2));
    expect(prepared).toEqual({ source: { n: 1 }, target: { n: 1 } });
    // A catalog that lacks one of the tables is not trusted for any: read again, same answer.
    const partial = await readRecheckCatalog(source, target, [u]);
    const again = { n: 0 };
    expect(
      await recheckTables({ source: countQueries(source, again), target, tables: keyedOnly, catalog: partial }),
    ).toEqual(oneByOne.slice(0, 2));
    expect(again.n).toBe(3);

    expect(await recheckTables({ source, target, tables, catalog })).toEqual(oneByOne);
  });

  it('packs keys into statements of at most 5,000, and finds the same differences as table by table', async () => {
    const t = { schema: 'public', name: 't' };
    const u = { schema: 'public', name: 'u' };
    // 5,200 keys of t (most of them exist on neither side: no difference), then two of u.
    const many = [
      ...Array.from({ length: 2600 }, (_, i) => ['eu', String(i)]),
      ...Array.from({ length: 2600 }, (_, i) => ['us', String(i)]),
    ];
    const tables = [
      { table: t, keys: many },
      { table: u, keys: [['00000000-0000-0000-0000-000000000003'], ['00000000-0000-0000-0000-000000000009']] },
    ];
    const oneByOne = [];
    for (const entry of tables) oneByOne.push(await recheckKeys({ source, target, ...entry }));
    expect(oneByOne[0]).toEqual({
      table: 'public.t',
      missing: [['us', '7']],
      extra: [],
      changed: [
        ['eu', '10'],
        ['eu', '300'],
        ['us', '5'],
      ],
      wholeTable: false,
    });
    const trips = { n: 0 };
    expect(await recheckTables({ source: countQueries(source, trips), target, tables })).toEqual(oneByOne);
    // Shapes, hash functions, then 5,000 keys of t; the other 200 of t with u's two.
    expect(trips.n).toBe(4);

    // Paced (the settling before the cutover's hold): smaller statements, one site after the other
    // (never both servers busy with it at once), a wait after each pair told how long it took, the
    // same differences.
    const paced = { n: 0 };
    const waits: number[] = [];
    const overlap = { now: 0, most: 0 };
    const catalog = await readRecheckCatalog(source, target, [t, u]);
    const result = await recheckTables({
      source: countQueries(trackOverlap(source, overlap), paced),
      target: trackOverlap(target, overlap),
      tables,
      catalog,
      pace: {
        keysPerStatement: 2_000,
        after: async (ms) => {
          waits.push(ms);
        },
      },
    });
    expect(result).toEqual(oneByOne);
    // The catalog given: 2,000 + 2,000 + 1,200 keys of t with u's two.
    expect(paced.n).toBe(3);
    expect(overlap.most).toBe(1);
    expect(waits).toHaveLength(3);
    for (const ms of waits) expect(ms).toBeGreaterThanOrEqual(0);
    // Unpaced (under the fence), both sites at once.
    overlap.most = 0;
    await recheckTables({
      source: trackOverlap(source, overlap),
      target: trackOverlap(target, overlap),
      tables,
      catalog,
    });
    expect(overlap.most).toBe(2);
  });

  it('reads the shapes of several tables in one query, null for one that does not exist', async () => {
    const names = [
      { schema: 'public', name: 'u' },
      { schema: 'public', name: 'nope' },
      { schema: 'public', name: 't' },
    ];
    const shapes = await readTableShapes(source, names);
    expect(shapes).toEqual([
      await readTableShape(source, names[0] as (typeof names)[0]),
      null,
      await readTableShape(source, names[2] as (typeof names)[0]),
    ]);
    expect(shapes[2]?.primaryKey).toEqual(['region', 'id']);
    expect(shapes[0]?.columns.map((c) => c.name)).toEqual(['id', 'v']);
  });

  it("leaves handoff's own schema out of discovery", async () => {
    const report = await verifyTables({ source: server.url('a'), target: server.url('b') });
    expect(report.schemaDifferences).toEqual([]);
    expect(report.tables.map((table) => table.table)).toEqual(['public.bag', 'public.t', 'public.u']);
  });
});
