/**
 * `handoff verify` and bad input: a wrong URL, a wrong password, a table that does not exist, a
 * table name that tries SQL injection, bad numbers. Each exits 2 with a precise message, no
 * password anywhere in the output, and nothing created on either server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, sleep } from '../../src/common/net.js';
import { verifyTables } from '../../src/data/postgres/verify/verify-tables.js';
import { runCli } from '../support/cli.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const setup = `
  create table items (id int primary key, name text);
  insert into items select g, 'item ' || g from generate_series(1, 300) g;`;

/** Everything verify could conceivably create: relations, schemas, slots, publications, databases. */
const inventory = `
  select (select count(*) from pg_class) as relations, (select count(*) from pg_namespace) as schemas,
         (select count(*) from pg_replication_slots) as slots, (select count(*) from pg_publication) as publications,
         (select count(*) from pg_database) as databases, (select count(*) from pg_proc) as functions,
         (select count(*) from pg_replication_origin) as origins`;

describe('handoff verify: usage and bad input', () => {
  let server: TestPostgres;
  let before: unknown[];

  const snapshot = async (): Promise<unknown[]> =>
    Promise.all(['src', 'dst'].map(async (db) => (await server.query(inventory, [], db)).rows[0]));

  beforeAll(async () => {
    server = await startTestPostgres();
    await server.createDatabase('src');
    await server.createDatabase('dst');
    await server.query(setup, [], 'src');
    await server.query(setup, [], 'dst');
    before = await snapshot();
  });

  afterAll(async () => {
    await server?.close();
  });

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['verify', ...args], { timeoutMs: 60_000, env });

  it('exits 0 with the JSON document when identical; passwords can come from the environment', async () => {
    const result = await cli(['--source-env', 'SRC_DB', '--target-env', 'DST_DB', '-o', 'json'], {
      SRC_DB: server.url('src'),
      DST_DB: server.url('dst'),
    });
    expect(result.stderr).not.toContain(server.password);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(server.password);
    const output = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(output).toMatchObject({
      identical: true,
      rowsCompared: 300,
      tables: [
        {
          table: 'public.items',
          sourceRows: 300,
          targetRows: 300,
          chunks: 1,
          mismatchedChunks: 0,
          missing: [],
          extra: [],
          changed: [],
        },
      ],
    });
    expect(typeof output.elapsedMs).toBe('number');
  });

  it('prints a human summary by default and exits 1 when the data differs; a table named twice is compared once', async () => {
    await server.query(`update items set name = 'changed' where id = 7`, [], 'dst');
    try {
      const result = await cli([
        '--source',
        server.url('src'),
        '--target',
        server.url('dst'),
        '--table',
        'items',
        '--table',
        'public.items',
        '--chunk-rows',
        '50',
      ]);
      expect(result.code).toBe(1);
      expect(result.stdout.match(/^public\.items:/gm)).toHaveLength(1); // the same table named twice is compared once
      expect(result.stdout).toContain(
        'public.items: 300 / 300 rows, 6 chunk(s): DIFFERENT (0 missing, 0 extra, 1 changed)',
      );
      expect(result.stdout).toContain('changed: (7) [name]');
      expect(`${result.stdout}${result.stderr}`).not.toContain(server.password);
    } finally {
      await server.query(`update items set name = 'item 7' where id = 7`, [], 'dst');
    }
  });

  const bad: Array<[string, () => string[], RegExp]> = [
    [
      'a source that is not a URL',
      () => ['--source', 'not-a-url', '--target', server.url('dst')],
      /--source: not a URL/,
    ],
    [
      'a URL of another scheme',
      () => ['--source', server.url('src'), '--target', server.url('dst').replace('postgresql:', 'mysql:')],
      /--target: scheme "mysql" is not postgresql/,
    ],
    [
      'a wrong password',
      () => [
        '--source',
        server.url('src').replace(encodeURIComponent(server.password), 'Wr0ng-Pa55word-xyz'),
        '--target',
        server.url('dst'),
      ],
      /source \(postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/src\): authentication failed for user "postgres"/,
    ],
    [
      'a database that does not exist',
      () => ['--source', server.url('src'), '--target', server.url('nodb')],
      /target .*database "nodb" does not exist/,
    ],
    [
      'a table that does not exist',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--table', 'public.nope'],
      /table public\.nope does not exist on the source/,
    ],
    [
      'a table name that tries SQL injection',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--table', 'items; drop table items'],
      /--table: "items; drop table items" is not a table name/,
    ],
    [
      '--chunk-rows 0',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--chunk-rows', '0'],
      /--chunk-rows: "0" is not a whole number from 1/,
    ],
    [
      '--chunk-rows abc',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--chunk-rows', 'abc'],
      /--chunk-rows: "abc" is not a whole number/,
    ],
    [
      '--chunk-rows 1.5',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--chunk-rows', '1.5'],
      /--chunk-rows: "1.5" is not a whole number/,
    ],
    [
      '--concurrency 0',
      () => ['--source', server.url('src'), '--target', server.url('dst'), '--concurrency', '0'],
      /--concurrency: "0" is not a whole number/,
    ],
    ['no target at all', () => ['--source', server.url('src')], /--target: required \(or --target-env NAME\)/],
    [
      'the same database as source and target (--repair)',
      () => ['--source', server.url('src'), '--target', server.url('src'), '--repair'],
      /--source and --target name the same database \(127\.0\.0\.1:\d+\/src\)/,
    ],
    [
      'an unset --source-env variable',
      () => ['--source-env', 'HANDOFF_TEST_UNSET_VAR', '--target', server.url('dst')],
      /--source-env: the environment variable HANDOFF_TEST_UNSET_VAR is not set/,
    ],
    [
      'both --source and --source-env',
      () => ['--source', server.url('src'), '--source-env', 'X', '--target', server.url('dst')],
      /--source and --source-env: give one, not both/,
    ],
  ];

  for (const [name, args, message] of bad) {
    it(`exits 2 on ${name}, with a precise message and no password`, async () => {
      const result = await cli(args());
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(`${result.stdout}${result.stderr}`).not.toContain(server.password);
      expect(`${result.stdout}${result.stderr}`).not.toContain('Wr0ng-Pa55word-xyz');
    });
  }

  it('exits 2 when nothing listens at the URL', async () => {
    const port = await freePort();
    const result = await cli([
      '--source',
      `postgresql://postgres:Secret-Pass-1@127.0.0.1:${port}/src`,
      '--target',
      server.url('dst'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /source \(postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/src\): connection refused/,
    );
    expect(result.stderr).not.toContain('Secret-Pass-1');
  });

  it('closes the good side when the other side refuses the connection (library call)', async () => {
    const wrong = server.url('src').replace(encodeURIComponent(server.password), 'Wr0ng-Pa55word-xyz');
    await expect(verifyTables({ source: wrong, target: server.url('dst') })).rejects.toThrow(/authentication failed/);
    const deadline = Date.now() + 10_000;
    let open = -1;
    while (Date.now() < deadline) {
      const rows = await server.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where application_name = 'handoff-verify'`,
      );
      open = rows.rows[0]?.n ?? -1;
      if (open === 0) break;
      await sleep(100);
    }
    expect(open).toBe(0);
  });

  it('created nothing on either server through all of the above', async () => {
    expect(await snapshot()).toEqual(before);
    const rows = await server.query(`select count(*)::int as n from items`, [], 'src');
    expect(rows.rows[0]).toEqual({ n: 300 });
  });
});
