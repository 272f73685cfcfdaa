import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { awaitMarker, markerPollDelay, writeMarker } from '../../src/data/postgres/marker.js';
import { objectNames } from '../../src/data/postgres/names.js';
import { createScaffold } from '../../src/data/postgres/scaffold.js';
import { countQueries } from '../support/count-queries.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let server: TestPostgres;
let writer: pg.Client;
let reader: pg.Client;
const names = objectNames('marker1', 'app');

beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('app');
  writer = new pg.Client({ connectionString: server.url('app') });
  reader = new pg.Client({ connectionString: server.url('app') });
  await Promise.all([writer.connect(), reader.connect()]);
  await createScaffold(writer, names);
});
afterAll(async () => {
  await Promise.all([writer?.end(), reader?.end()]);
  await server?.stop();
});

describe('markerPollDelay', () => {
  it('starts at 1 ms and doubles up to the poll interval', () => {
    expect(Array.from({ length: 9 }, (_, i) => markerPollDelay(i, 50))).toEqual([1, 2, 4, 8, 16, 32, 50, 50, 50]);
    expect(markerPollDelay(0, 0)).toBe(1);
    expect(markerPollDelay(5000, 60_000)).toBe(60_000);
  });
});

describe('awaitMarker', () => {
  it('sees a marker that arrives after its first look without waiting out the poll interval', async () => {
    const seq = (await writeMarker(writer, names, 'forward')) + 1;
    const looks = { n: 0 };
    // The next marker is written once the first look has come back without it (not after a fixed
    // delay, which a descheduled backend could outlast and see the marker at its first look); with
    // a minute between looks, the old fixed interval would wait a minute (past this test's bound).
    const waiting = awaitMarker(countQueries(reader, looks), names, 'forward', seq, {
      timeoutMs: 120_000,
      pollMs: 60_000,
      where: 'reader',
    });
    // The first look is sent at once; a statement queued behind it on the same session answers after it.
    await reader.query('select 1');
    expect(await writeMarker(writer, names, 'forward')).toBe(seq);
    const waitedMs = await waiting;
    expect(waitedMs).toBeLessThan(60_000);
    // Looks at 0, 1, 3, 7, 15, 31 ms ... : a handful, not a busy loop.
    expect(looks.n).toBeGreaterThan(1);
    expect(looks.n).toBeLessThan(20);
  }, 20_000);

  it('returns at the first look when the marker is already there', async () => {
    const seq = await writeMarker(writer, names, 'forward');
    const looks = { n: 0 };
    await awaitMarker(countQueries(reader, looks), names, 'forward', seq, {
      timeoutMs: 1000,
      pollMs: 50,
      where: 'reader',
    });
    expect(looks.n).toBe(1);
  });

  it('times out with the marker it waited for and the one it sees', async () => {
    const seen = await writeMarker(writer, names, 'forward');
    await expect(
      awaitMarker(reader, names, 'forward', seen + 5, { timeoutMs: 30, pollMs: 5, where: 'the reader' }),
    ).rejects.toThrow(`the reader did not show forward heartbeat marker ${seen + 5} within 30 ms (it shows ${seen})`);
  });
});
