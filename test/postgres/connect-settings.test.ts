/**
 * The session `connect()` opens: pinned settings, and handoff's own commits flushed locally where
 * the server commits asynchronously (a marker must not wait for the WAL writer), never lowered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/data/postgres/connect.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startTestPostgres({ settings: { synchronous_commit: 'off' } });
  for (const db of ['app', 'strict', 'standby']) await server.createDatabase(db);
  await server.query(`alter database strict set synchronous_commit = on`);
  await server.query(`alter database standby set synchronous_commit = remote_apply`);
});
afterAll(async () => {
  await server?.close();
});

async function settingsOf(database: string): Promise<Record<string, string>> {
  const client = await connect(server.url(database), { name: 'source' });
  try {
    const r = await client.query<{ name: string; setting: string }>(
      `select name, current_setting(name) as setting from unnest(array['synchronous_commit', 'TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'bytea_output']) name`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.name, row.setting]));
  } finally {
    await client.end();
  }
}

describe('connect', () => {
  it('pins the session settings in one statement', async () => {
    expect(await settingsOf('strict')).toEqual({
      synchronous_commit: 'on',
      TimeZone: 'UTC',
      DateStyle: 'ISO, YMD',
      IntervalStyle: 'postgres',
      extra_float_digits: '3',
      bytea_output: 'hex',
    });
  });

  it("flushes handoff's own commits locally where the server commits asynchronously, and never lowers the setting", async () => {
    expect((await settingsOf('app')).synchronous_commit).toBe('local');
    expect((await settingsOf('strict')).synchronous_commit).toBe('on');
    expect((await settingsOf('standby')).synchronous_commit).toBe('remote_apply');
  });
});
