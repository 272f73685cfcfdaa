/**
 * Verification against live and large tables: a lagging logical-replication target is re-checked
 * after the marker catches up and only real divergence persists; named chunks can be re-checked
 * alone; schema differences get their own section; large tables get sampled chunk boundaries;
 * an abort stops the work and closes every session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sleep } from '../../src/common/net.js';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import { startTestPostgres, startTestPostgresAll, type TestPostgres } from '../support/postgres.js';

const live = { schema: 'public', name: 'live' };

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A source and a target with `live` (5,000 rows) and a marker table, the target subscribed and caught up. */
interface ReplicatedPair {
  source: TestPostgres;
  target: TestPostgres;
  /** What the replication engineer's marker does: write on the source, wait until the target shows it. */
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

async function startReplicatedPair(sourceSettings?: Record<string, string | number>): Promise<ReplicatedPair> {
  const [source, target] = await startTestPostgresAll([sourceSettings ? { settings: sourceSettings } : {}, {}]);
  const schema = `create table live (id int primary key, v int not null, note text);
                  create table marker (id int primary key, n bigint not null);`;
  await Promise.all([source.createDatabase('app'), target.createDatabase('app')]);
  await source.query(
    `${schema} insert into live select g, g, null from generate_series(1, 5000) g; insert into marker values (1, 0);
     create publication pub for table live, marker;`,
    [],
    'app',
  );
  await target.query(schema, [], 'app');
  await target.query(
    `create subscription sub connection 'host=127.0.0.1 port=${source.port} dbname=app user=postgres password=${source.password}' publication pub`,
    [],
    'app',
  );
  await waitFor('the initial copy', async () => {
    const rows = await target.query(`select count(*)::int as n from live`, [], 'app');
    return rows.rows[0]?.n === 5000;
  });
  let marker = 0;
  return {
    source,
    target,
    async catchUp() {
      marker++;
      await source.query(`update marker set n = $1 where id = 1`, [marker], 'app');
      await waitFor('the marker', async () => {
        const rows = await target.query<{ n: string }>(`select n::text as n from marker where id = 1`, [], 'app');
        return Number(rows.rows[0]?.n) >= marker;
      });
    },
    async close() {
      await target.query(`drop subscription if exists sub`, [], 'app').catch(() => undefined);
      await Promise.all([source.close(), target.close()]);
    },
  };
}

describe('verify with a lagging logical-replication target', () => {
  let pair: ReplicatedPair;
  let source: TestPostgres;
  let target: TestPostgres;

  beforeAll(async () => {
    pair = await startReplicatedPair();
    ({ source, target } = pair);
  });

  afterAll(async () => {
    await pair?.close();
  });

  const catchUp = (): Promise<void> => pair.catchUp();

  it('reports only the divergence that persists after the target catches up', async () => {
    await target.query(`alter subscription sub disable`, [], 'app');
    // Changes the target has not applied yet: lag, not divergence.
    await source.query(
      `update live set v = v + 1 where id % 250 = 0; insert into live select g, g, 'late' from generate_series(5001, 5040) g;
       delete from live where id in (3, 3333);`,
      [],
      'app',
    );
    // A real divergence, written on the target behind replication's back.
    await target.query(`update live set note = 'drift' where id = 4321`, [], 'app');
    let rechecks = 0;
    const report = await verifyTables({
      source: source.url('app'),
      target: target.url('app'),
      tables: [live],
      chunkRows: 500,
      recheck: async () => {
        rechecks++;
        if (rechecks === 1) await target.query(`alter subscription sub enable`, [], 'app');
        await catchUp();
      },
    });
    const table = report.tables[0];
    expect(report.rechecks).toBe(2); // the drift persists, so both rounds ran
    // And one more wait: the last look at the differing rows (source, catch-up, both sides again).
    expect(rechecks).toBe(3);
    expect(table?.changed).toEqual([['4321']]);
    expect(table?.missing).toEqual([]);
    expect(table?.extra).toEqual([]);
    expect(table?.mismatchedChunks).toBe(1);
    expect(table?.sourceRows).toBe(5038);
    expect(table?.targetRows).toBe(5038);
    expect(table?.notes.join('\n')).toMatch(
      /recheck 1: \d+ mismatching chunk\(s\) compared again after the target caught up/,
    );
    await target.query(`update live set note = null where id = 4321`, [], 'app');
  });

  it('re-checks only the named chunks of an earlier clean pass', async () => {
    await catchUp();
    const clean = await verifyTables({
      source: source.url('app'),
      target: target.url('app'),
      tables: [live],
      chunkRows: 500,
    });
    expect(clean.identical).toBe(true);
    const chunks = clean.tables[0]?.chunkDetails ?? [];
    expect(chunks.length).toBeGreaterThanOrEqual(8);
    // Drift in the chunk holding key 2600; a pass over another chunk must not see it, a pass over that chunk must.
    await target.query(`update live set v = -1 where id = 2600`, [], 'app');
    const holding = chunks.find(
      (chunk) => Number(chunk.lower?.[0] ?? -Infinity) <= 2600 && 2600 < Number(chunk.upper?.[0] ?? Infinity),
    );
    const other = chunks.find((chunk) => chunk !== holding && chunk.upper !== null);
    expect(holding).toBeDefined();
    const elsewhere = await verifyTables({
      source: source.url('app'),
      target: target.url('app'),
      onlyChunks: { 'public.live': [other!] },
    });
    expect(elsewhere.tables[0]).toMatchObject({ partial: true, chunks: 1, identical: true });
    const there = await verifyTables({
      source: source.url('app'),
      target: target.url('app'),
      onlyChunks: { 'public.live': [holding!] },
    });
    expect(there.identical).toBe(false);
    expect(there.tables[0]).toMatchObject({ partial: true, chunks: 1, changed: [['2600']] });
    expect(there.tables[0]?.chunkDetails[0]?.id).toBe(holding?.id);
    await target.query(`update live set v = 2600 where id = 2600`, [], 'app');
  });

  it('stops on abort and leaves no session behind', async () => {
    const controller = new AbortController();
    const run = verifyTables({
      source: source.url('app'),
      target: target.url('app'),
      tables: [live],
      chunkRows: 10,
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.chunksDone === 3) controller.abort(new Error('stop asked'));
      },
    });
    await expect(run).rejects.toThrow('stop asked');
    await waitFor(
      'the sessions to end',
      async () => {
        const rows = await source.query(
          `select count(*)::int as n from pg_stat_activity where application_name = 'handoff-verify'`,
        );
        return rows.rows[0]?.n === 0;
      },
      10_000,
    );
  });
});

describe('verify: schema differences and large tables', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startTestPostgres();
    for (const db of ['sa', 'sb', 'big_a', 'big_b']) await server.createDatabase(db);
    await server.query(
      `create table t (id int primary key, a text, b int, c date); insert into t select g, 'a' || g, g, null from generate_series(1, 100) g;`,
      [],
      'sa',
    );
    await server.query(
      `create table t (id int primary key, a text, b bigint, d int); insert into t select g, 'a' || g, g, 0 from generate_series(1, 100) g;
       create table only_here (id int primary key);`,
      [],
      'sb',
    );
    const big = `create table big (tenant int, id bigint, body text, amount numeric(10,2), primary key (tenant, id));
                 insert into big select g % 4, g, md5(g::text), (g % 1000) / 10.0 from generate_series(1, 260000) g;
                 analyze big;`;
    await server.query(big, [], 'big_a');
    await server.query(big, [], 'big_b');
    await server.query(
      `delete from big where (tenant, id) in ((1, 1001), (2, 130002), (3, 259999));
       update big set body = 'x' where (tenant, id) in ((0, 4), (2, 200002));
       insert into big values (9, 1, 'new', 0);`,
      [],
      'big_b',
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  it('reports schema differences in their own section and compares the shared columns', async () => {
    const report = await verifyTables({ source: server.url('sa'), target: server.url('sb') });
    expect(report.identical).toBe(false);
    expect(report.schemaDifferences.map((d) => [d.table, d.kind, d.column ?? null])).toEqual([
      ['public.only_here', 'table-missing-on-source', null],
      ['public.t', 'column-type', 'b'],
      ['public.t', 'column-missing-on-target', 'c'],
      ['public.t', 'column-extra-on-target', 'd'],
    ]);
    expect(report.schemaDifferences[1]).toMatchObject({ source: 'integer', target: 'bigint' });
    // b differs in type only; its values are the same in text form, so the rows match.
    expect(report.tables[0]).toMatchObject({ table: 'public.t', identical: true, columns: ['id', 'a', 'b'] });
  });

  it('localises differences in a large composite-key table with sampled boundaries', async () => {
    const report = await verifyTables({ source: server.url('big_a'), target: server.url('big_b'), chunkRows: 10_000 });
    const table = report.tables[0];
    expect(table?.chunks).toBeGreaterThan(15);
    expect(table?.chunks).toBeLessThan(40);
    expect(table?.missing).toEqual([
      ['1', '1001'],
      ['2', '130002'],
      ['3', '259999'],
    ]);
    expect(table?.changed).toEqual([
      ['0', '4'],
      ['2', '200002'],
    ]);
    expect(table?.extra).toEqual([['9', '1']]);
    expect(table?.sourceRows).toBe(260_000);
    expect(table?.targetRows).toBe(259_998);
  });
});

describe('verify while the source commits asynchronously (synchronous_commit = off)', () => {
  // A source whose writers commit without waiting for the write-ahead log: their rows are visible
  // at once but reach the target only when the log is flushed (here after up to a second), so a
  // row-level look right after a chunk's hashes finds the newest rows "missing" on every round.
  let pair: ReplicatedPair;
  let source: TestPostgres;
  let target: TestPostgres;

  beforeAll(async () => {
    pair = await startReplicatedPair({ wal_writer_delay: '1000ms' });
    ({ source, target } = pair);
  });

  afterAll(async () => {
    await pair?.close();
  });

  const catchUp = (): Promise<void> => pair.catchUp();

  it('tells rows still on their way (and rows being rewritten) from real divergence', async () => {
    // A real divergence, written on the target behind replication's back.
    await target.query(`update live set note = 'drift' where id = 4321`, [], 'app');
    const writer = new pg.Client({ connectionString: source.url('app') });
    writer.on('error', () => undefined); // the server's shutdown at the end
    await writer.connect();
    await writer.query(`set synchronous_commit = off`);
    let stop = false;
    let written = 0;
    let failed: unknown = null;
    // Bounded: at most 20,000 rounds or 60 s; new rows at the end of the table and a hot row rewritten.
    const writes = (async () => {
      const until = Date.now() + 60_000;
      for (let id = 100_001; !stop && id < 120_001 && Date.now() < until; id++) {
        await writer.query(
          `with added as (insert into live values ($1, $2, null)) update live set v = v + 1 where id = 2500`,
          [id, id % 1_000_000],
        );
        written++;
        if (id % 10 === 0) await sleep(1);
      }
    })().catch((error: unknown) => {
      failed = error;
    });
    try {
      await waitFor('the writer to be going', async () => {
        if (failed) throw failed;
        return written > 50;
      });
      const before = written;
      const report = await verifyTables({
        source: source.url('app'),
        target: target.url('app'),
        tables: [live],
        chunkRows: 500,
        recheck: catchUp,
      });
      const table = report.tables[0];
      expect(failed).toBeNull();
      expect(written).toBeGreaterThan(before); // the writer went on during the pass
      // Only the row changed behind replication's back is a difference; the rows written while
      // the pass ran are not, whether they reached the target in time or not.
      expect(table?.changed).toEqual([['4321']]);
      expect(table?.missing).toEqual([]);
      expect(table?.extra).toEqual([]);
      expect(report.identical).toBe(false);
      expect(table?.notes.join('\n')).toMatch(/matched once the target caught up/);
    } finally {
      stop = true;
      await writes;
      await writer.end();
      await target.query(`update live set note = null where id = 4321`, [], 'app');
    }
  });
});
