import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';
import { leftovers, tableDigest } from './inspect.js';
import { APP_PASSWORD, SHOP_GRANTS, SHOP_SCHEMA } from './workload.js';

const driver = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-driver.ts');

function runDriver(
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', driver], {
      env: { ...process.env, ...env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the driver, crashing at boundary 0, 1, 2, ... in successive runs, until a run finishes. */
async function crashAtEveryBoundary(env: Record<string, string>): Promise<{ crashes: number }> {
  let crashes = 0;
  for (let boundary = 0; boundary < 200; boundary++) {
    const r = await runDriver({ ...env, CRASH_AT: String(boundary) });
    if (r.signal === 'SIGKILL') {
      crashes++;
      continue;
    }
    if (r.code !== 0) throw new Error(`driver failed after ${crashes} crashes (boundary ${boundary}): ${r.stderr}`);
    expect(r.stdout).toMatch(/finished \d+/);
    return { crashes };
  }
  throw new Error('driver never finished');
}

let source: TestPostgres;
let target: TestPostgres;

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.query(`create role app login password '${APP_PASSWORD}'`);
    await server.createDatabase('shop');
    await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], 'shop');
  }
  await source.query(
    `insert into public.orders (token, customer, amount) select gen_random_uuid(), 'c' || g, g from generate_series(1, 5000) g;
     insert into public.items select id, 1, 'seed', 1 from public.orders;`,
    [],
    'shop',
  );
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

describe('SIGKILL at every step boundary', () => {
  it('replicate, cutover and finalize converge after a crash at each boundary and leave nothing behind', async () => {
    const tmp = makeTempDir('handoff-crash-');
    try {
      const { crashes } = await crashAtEveryBoundary({
        SRC: source.url('shop'),
        TGT: target.url('shop'),
        DIR: tmp.dir,
        RUN_ID: 'crash1',
        MODE: 'forward',
      });
      const journal = fs.readFileSync(path.join(tmp.dir, 'journal'), 'utf8');
      const steps = journal.split('\n').filter((l) => l.startsWith('done ')).length;
      expect(crashes).toBe(2 * steps);
      for (const table of ['public.orders', 'public.items']) {
        expect(await tableDigest(target, 'shop', table)).toEqual(await tableDigest(source, 'shop', table));
      }
      expect(
        (await target.query<{ n: number }>(`select count(*)::int as n from public.orders`, [], 'shop')).rows[0]?.n,
      ).toBe(5000);
      expect(await leftovers(source, 'shop')).toEqual([]);
      expect(await leftovers(target, 'shop')).toEqual([]);
      // Cutover replayed its sequence sync: the target hands out fresh ids.
      const next = await target.query<{ id: string }>(
        `insert into public.orders (token, customer) values (gen_random_uuid(), 'new') returning id`,
        [],
        'shop',
      );
      expect(Number(next.rows[0]?.id)).toBeGreaterThan(5000);
      await target.query(`set role app; insert into public.counters values ('app-writes', 1)`, [], 'shop');
      // The source stays fenced after finalize (keepSourceFenced).
      await expect(
        source.query(`set role app; insert into public.counters values ('late', 1)`, [], 'shop'),
      ).rejects.toThrow(/permission denied/);
    } finally {
      tmp.cleanup();
    }
  }, 600_000);

  it('failback and finalize converge after a crash at each boundary; the source is the writer again', async () => {
    for (const server of [source, target]) {
      await server.createDatabase('shop2');
      await server.query(SHOP_SCHEMA + SHOP_GRANTS, [], 'shop2');
    }
    await source.query(
      `insert into public.orders (token, customer) select gen_random_uuid(), 'c' || g from generate_series(1, 2000) g`,
      [],
      'shop2',
    );
    const tmp = makeTempDir('handoff-crash-');
    try {
      const { crashes } = await crashAtEveryBoundary({
        SRC: source.url('shop2'),
        TGT: target.url('shop2'),
        DIR: tmp.dir,
        RUN_ID: 'crash3',
        DB: 'shop2',
        MODE: 'failback',
      });
      expect(crashes).toBeGreaterThanOrEqual(20);
      for (const table of ['public.orders', 'public.items']) {
        expect(await tableDigest(target, 'shop2', table)).toEqual(await tableDigest(source, 'shop2', table));
      }
      expect(await leftovers(source, 'shop2')).toEqual([]);
      expect(await leftovers(target, 'shop2')).toEqual([]);
      await source.query(
        `set role app; insert into public.orders (token, customer) values (gen_random_uuid(), 'after failback')`,
        [],
        'shop2',
      );
      await target.query(
        `set role app; insert into public.counters values ('target open after finalize', 1)`,
        [],
        'shop2',
      );
    } finally {
      tmp.cleanup();
    }
  }, 600_000);

  it('replicate and its undo converge after a crash at each boundary, restoring the target exactly', async () => {
    const tmp = makeTempDir('handoff-crash-');
    try {
      await target.query(`truncate public.orders, public.items, public.counters`, [], 'shop');
      await target.query(`grant insert, update, delete on all tables in schema public to app`, [], 'shop');
      const before = await grants(target);
      const { crashes } = await crashAtEveryBoundary({
        SRC: source.url('shop'),
        TGT: target.url('shop'),
        DIR: tmp.dir,
        RUN_ID: 'crash2',
        MODE: 'undo',
      });
      expect(crashes).toBeGreaterThan(10);
      expect(await leftovers(source, 'shop')).toEqual([]);
      expect(await leftovers(target, 'shop')).toEqual([]);
      expect(await grants(target)).toEqual(before);
    } finally {
      tmp.cleanup();
    }
  }, 600_000);
});

async function grants(server: TestPostgres): Promise<string[]> {
  const r = await server.query<{ g: string }>(
    `select c.relname || ':' || pg_get_userbyid(a.grantee) || ':' || a.privilege_type as g
       from pg_class c cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1`,
    [],
    'shop',
  );
  return r.rows.map((row) => row.g);
}
