/**
 * Chunk boundaries of a large table come from a block sample of about 64 rows per chunk, at most a
 * tenth of the table however small the chunks: before, many small chunks (the throttle shrinks
 * them) made the sample reach half the table and the boundaries fell back to one unpaced statement
 * over the whole key index (12 s for the demo's 20 M-row `order_events`). Chunk sizes are then
 * approximate; small tables keep exact boundaries.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/data/postgres/connect.js';
import { chunkBoundaries } from '../../src/data/postgres/verify/boundaries.js';
import { readTableShape } from '../../src/data/postgres/verify/catalog.js';
import { planTable, type TablePlan } from '../../src/data/postgres/verify/table-plan.js';
import type { Key } from '../../src/data/postgres/verify/types.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

// Narrow rows, many to a page, like `order_events`: 8 sampled blocks per 1,000-row chunk would be
// most of the table.
const ROWS = 400_000;
const setup = `
  create table events (order_id bigint, seq int, primary key (order_id, seq));
  insert into events select g / 4, g % 4 from generate_series(0, ${ROWS - 1}) g;
  create table tokens (id uuid primary key, n int);
  insert into tokens select gen_random_uuid(), g from generate_series(1, ${ROWS}) g;
  create table small (id int primary key);
  insert into small select g from generate_series(1, 5000) g;`;

let server: TestPostgres;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('a');
  await server.query(setup, [], 'a');
  await server.query('vacuum analyze events, tokens, small', [], 'a');
  client = await connect(server.url('a'), { name: 'source' });
}, 120_000);

afterAll(async () => {
  await client?.end();
  await server?.close();
});

async function planOf(name: string): Promise<TablePlan> {
  const shape = await readTableShape(client, { schema: 'public', name });
  const { plan } = planTable(shape!, shape);
  return plan!;
}

/**
 * Boundaries of `name` at 1,000 rows per chunk, which must come from a sample that reads at most 8 %
 * of the table (rows read from heap and index, counted in the same transaction).
 */
async function sampledBoundaries(name: string): Promise<Key[]> {
  const plan = await planOf(name);
  await client.query('begin');
  try {
    const boundaries = await chunkBoundaries(client, plan, CHUNK_ROWS);
    const stats = await client.query<{ n: string }>(
      `select (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text as n
         from pg_stat_xact_user_tables where relname = $1`,
      [name],
    );
    const read = Number(stats.rows[0]?.n ?? 0);
    expect(boundaries.method).toBe('sample');
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(ROWS * 0.08);
    return boundaries.keys;
  } finally {
    await client.query('commit');
  }
}

const CHUNK_ROWS = 1000;

describe('chunk boundaries', () => {
  it('sample at most a tenth of a large table, with chunks of about the asked size', async () => {
    const chunkRows = CHUNK_ROWS;
    const keys = await sampledBoundaries('events');
    // Boundaries in key order, and chunk sizes (rows between boundaries) near the asked size.
    const ordinals = keys.map(([orderId, seq]) => Number(orderId) * 4 + Number(seq));
    expect(ordinals).toEqual([...ordinals].sort((a, b) => a - b));
    const sizes = [...ordinals, ROWS].map((end, i) => end - (i === 0 ? 0 : (ordinals[i - 1] as number)));
    // Keys in physical order, as here: chunks follow the sampled blocks (one cut per block; 64 rows
    // per chunk is a sixteenth of the blocks here), so they are about twice the asked size in the
    // median, the longest run of blocks the sample skipped the largest (it grows with the log of the
    // table's size); never a sliver of a block beside the whole table.
    const sorted = [...sizes].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    expect(sizes.length).toBeGreaterThan((ROWS / chunkRows) * 0.25);
    expect(median).toBeGreaterThanOrEqual(chunkRows * 0.5);
    expect(median).toBeLessThanOrEqual(chunkRows * 4);
    expect(sorted[0]).toBeGreaterThanOrEqual(chunkRows * 0.05);
    expect(sorted.at(-1)).toBeLessThan(chunkRows * 30);
  });

  it('cut a table whose keys are in no physical order into chunks of about the asked size', async () => {
    const chunkRows = CHUNK_ROWS;
    const keys = await sampledBoundaries('tokens');
    // Rows per chunk, one index range count per chunk.
    const counts = await client.query<{ n: number }>(
      `select (select count(*) from tokens where id >= coalesce(r.lo, '00000000-0000-0000-0000-000000000000') and id < coalesce(r.hi, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))::int as n
         from (select b as lo, lead(b) over (order by b) as hi from unnest($1::uuid[]) b
               union all select null, (select b from unnest($1::uuid[]) b order by b limit 1)) r`,
      [keys.map(([id]) => id)],
    );
    const sizes = counts.rows.map((row) => row.n).sort((a, b) => a - b);
    expect(sizes.length).toBeGreaterThan((ROWS / chunkRows) * 0.8);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeGreaterThanOrEqual(chunkRows * 0.7);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeLessThanOrEqual(chunkRows * 1.5);
    expect(sizes.at(-1)).toBeLessThan(chunkRows * 4);
  });

  it('stay exact for a small table', async () => {
    const plan = await planOf('small');
    const boundaries = await chunkBoundaries(client, plan, 1000);
    expect(boundaries.method).toBe('exact');
    expect(boundaries.keys).toEqual([['1001'], ['2001'], ['3001'], ['4001']]);
  });
});
