/**
 * Verification throughput: 1,000,000 identical rows (several column types) in one table on two
 * PostgreSQL 18 servers on this machine. The candidate is the library call `verifyTables` (what
 * `handoff verify` runs; the CLI adds process start-up, measured once on the side). The baseline,
 * measured in the same run, is the naive whole-table digest on each side, concurrently:
 * `md5(string_agg(md5(t::text), '' order by pk))`. Then ten scattered differences on the target:
 * the time to localise them against the identical-case time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from '../src/common/net.js';
import { connect } from '../src/data/postgres/connect.js';
import { hashFunctions, readTableShape } from '../src/data/postgres/verify/catalog.js';
import { planTable, rowHashExpression } from '../src/data/postgres/verify/table-plan.js';
import { verifyTables } from '../src/data/postgres/verify/verify-tables.js';
import { repoRoot, runCli } from '../test/support/cli.js';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';
import type { Benchmark, BenchResult } from './harness.js';
import { cpuSeconds } from './cpu.js';
import { runShapes, shapeMeasurements } from './verify-shapes.js';

const ROWS = Number(process.env.VERIFY_BENCH_ROWS ?? 1_000_000);
const CHUNK_ROWS = Number(process.env.VERIFY_BENCH_CHUNK_ROWS ?? 10_000);
const CONCURRENCY = Number(process.env.VERIFY_BENCH_CONCURRENCY ?? 2);
const REPEAT = 3;
/** Rows per table of each other shape (composite, text and uuid keys, jsonb, wide text, numeric); 0 leaves them out. */
const SHAPE_ROWS = Number(process.env.VERIFY_BENCH_SHAPE_ROWS ?? 1_000_000);

const schema = `
  create table orders (
    id bigint primary key, customer text not null, amount numeric(12,2), status text, placed_at timestamptz,
    attrs jsonb, tags text[], score float8, paid boolean);`;
const load = `
  insert into orders
  select g, 'customer-' || (g % 50000), (g % 100000) / 100.0, (array['new','paid','shipped','done'])[1 + g % 4],
         '2024-01-01'::timestamptz + g * interval '17 seconds',
         jsonb_build_object('channel', 'web', 'n', g % 97), array['t' || (g % 5), 'x'], g / 7.0, g % 3 = 0
    from generate_series(1, ${ROWS}) g;`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

export const verifyBenchmark: Benchmark = {
  name: 'verify',
  async run(): Promise<BenchResult> {
    const servers: TestPostgres[] = [];
    const loadBefore = os.loadavg()[0] ?? 0;
    try {
      const settings = { shared_buffers: '512MB', max_parallel_workers_per_gather: 0 };
      const [a, b] = await Promise.all([startTestPostgres({ settings }), startTestPostgres({ settings })]);
      servers.push(a, b);
      const loadStart = Date.now();
      await Promise.all(
        [a, b].map(async (server) => {
          await server.createDatabase('bench');
          await server.query(schema + load, [], 'bench');
          await server.query('vacuum analyze orders', [], 'bench');
        }),
      );
      const loadMs = Date.now() - loadStart;
      const options = {
        source: a.url('bench'),
        target: b.url('bench'),
        chunkRows: CHUNK_ROWS,
        concurrency: CONCURRENCY,
      };

      const naive = `select md5(string_agg(md5(t::text), '' order by id)) as d from orders t`;
      const baselineRuns: number[] = [];
      const candidateRuns: number[] = [];
      // Interleaved, so background load on the machine hits both alike; the first pair also warms the caches.
      await verifyTables(options);
      const pids = [a.pid, b.pid];
      const baselineCpu: number[] = [];
      const candidateCpu: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        let cpu = cpuSeconds(pids);
        const baseline = await timed(() => Promise.all([a.query(naive, [], 'bench'), b.query(naive, [], 'bench')]));
        if (baseline.value[0].rows[0]?.d !== baseline.value[1].rows[0]?.d)
          throw new Error('baseline digests differ on identical data');
        baselineRuns.push(baseline.ms);
        await sleep(300); // let the postmasters reap the ended backends, so their CPU time is counted
        baselineCpu.push(cpuSeconds(pids) - cpu);
        cpu = cpuSeconds(pids);
        const candidate = await timed(() => verifyTables(options));
        if (!candidate.value.identical || candidate.value.rowsCompared !== ROWS)
          throw new Error('verify did not report identical');
        candidateRuns.push(candidate.ms);
        await sleep(300);
        candidateCpu.push(cpuSeconds(pids) - cpu);
      }
      const cores = os.cpus().length;

      // Profile: what the same hashing costs in one plain scan per side (no chunks), and a bare count.
      const client = await connect(a.url('bench'), { name: 'source' });
      let rowHash: string;
      try {
        const shape = await readTableShape(client, { schema: 'public', name: 'orders' });
        const plan = planTable(shape!, shape).plan!;
        const types = plan.columns.map((column) => column.sourceType);
        rowHash = rowHashExpression(plan, { functions: await hashFunctions(client, types) });
      } finally {
        await client.end();
      }
      const cpuOf = async (sql: string): Promise<number> => {
        const cpu = cpuSeconds(pids);
        await Promise.all([a.query(sql, [], 'bench'), b.query(sql, [], 'bench')]);
        await sleep(300);
        return cpuSeconds(pids) - cpu;
      };
      const countCpu = median([
        await cpuOf('select count(*) from orders'),
        await cpuOf('select count(*) from orders'),
        await cpuOf('select count(*) from orders'),
      ]);
      const plainSql = `select count(*), sum(${rowHash}) from orders`;
      const plainCpu = median([await cpuOf(plainSql), await cpuOf(plainSql), await cpuOf(plainSql)]);
      const projectedRowsPerSecond = ROWS / (median(candidateCpu) / cores);
      const identicalMs = median(candidateRuns);
      const baselineMs = median(baselineRuns);
      const chunks = (await verifyTables(options)).tables[0]?.chunks ?? 0;

      const cliArgs = [
        'verify',
        '--source',
        options.source,
        '--target',
        options.target,
        '--chunk-rows',
        String(CHUNK_ROWS),
        '-o',
        'json',
      ];
      const cli = await runCli(cliArgs, { timeoutMs: 300_000 });
      if (cli.code !== 0) throw new Error(`handoff verify exited ${cli.code}: ${cli.stderr}`);
      // The installed command (bin/handoff.js runs the compiled dist/, as `npx handoff` does), median of 3.
      const installed = path.join(repoRoot, 'dist', 'cli', 'main.js');
      const installedRuns: number[] = [];
      if (fs.existsSync(installed)) {
        for (let i = 0; i < REPEAT; i++) {
          const started = Date.now();
          const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'handoff.js'), ...cliArgs], {
            encoding: 'utf8',
            timeout: 300_000,
          });
          if (run.status !== 0) throw new Error(`bin/handoff.js verify exited ${run.status}: ${run.stderr}`);
          installedRuns.push(Date.now() - started);
        }
      }

      // Ten scattered differences: changed, deleted and added rows spread over the key space.
      const step = Math.floor(ROWS / 10);
      await b.query(
        `update orders set attrs = attrs || '{"n": -1}' where id in (${[1, 2, 3, 4, 5, 6].map((i) => i * step - 7).join(', ')});
         delete from orders where id in (${[7, 8].map((i) => i * step - 3).join(', ')});
         insert into orders (id, customer) values (${ROWS + 1}, 'extra'), (${ROWS + 2}, 'extra');`,
        [],
        'bench',
      );
      const diffRuns: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const found = await timed(() => verifyTables(options));
        const table = found.value.tables[0];
        const n = (table?.changed.length ?? 0) + (table?.missing.length ?? 0) + (table?.extra.length ?? 0);
        if (n !== 10) throw new Error(`expected 10 differences, found ${n}`);
        diffRuns.push(found.ms);
      }
      const diffMs = median(diffRuns);
      const shapes = SHAPE_ROWS > 0 ? await runShapes(a, b, SHAPE_ROWS, REPEAT, CHUNK_ROWS, CONCURRENCY) : [];
      const byShape = shapeMeasurements(shapes, SHAPE_ROWS);
      const rowsPerSecond = ROWS / (identicalMs / 1000);
      const baselineRowsPerSecond = ROWS / (baselineMs / 1000);
      return {
        benchmark: 'verify',
        baseline: "md5(string_agg(md5(t::text), '' order by id)) over the whole table, on both servers concurrently",
        measurements: [
          { name: 'rows', value: ROWS, unit: 'rows' },
          { name: 'load (both sides, generate_series)', value: loadMs, unit: 'ms' },
          { name: 'baseline (median)', value: baselineMs, unit: 'ms' },
          { name: 'verify identical (median, library)', value: identicalMs, unit: 'ms' },
          {
            name: 'verify identical, handoff verify CLI from source through tsx, end to end (once)',
            value: cli.elapsedMs,
            unit: 'ms',
          },
          ...(installedRuns.length > 0
            ? [
                {
                  name: 'verify identical, installed handoff verify (bin/handoff.js, dist), end to end (median)',
                  value: median(installedRuns),
                  unit: 'ms',
                },
                {
                  name: 'installed handoff verify throughput, end to end',
                  value: ROWS / (median(installedRuns) / 1000),
                  unit: 'rows/s',
                },
              ]
            : []),
          { name: 'verify with 10 differences, localised (median)', value: diffMs, unit: 'ms' },
          { name: 'verify throughput', value: rowsPerSecond, unit: 'rows/s' },
          { name: 'baseline throughput', value: baselineRowsPerSecond, unit: 'rows/s' },
          { name: 'chunks', value: chunks, unit: 'chunks' },
          { name: 'verify CPU time, both servers and handoff (median)', value: median(candidateCpu), unit: 's' },
          { name: 'baseline CPU time, both servers (median)', value: median(baselineCpu), unit: 's' },
          { name: 'profile: count(*) on both sides, CPU', value: countCpu, unit: 's' },
          {
            name: 'profile: the same row hash in one plain scan per side (no chunks), CPU',
            value: plainCpu,
            unit: 's',
          },
          {
            name: 'verify throughput projected on idle cores (rows / (CPU time / cores))',
            value: projectedRowsPerSecond,
            unit: 'rows/s',
          },
          ...byShape.measurements,
        ],
        ratios: {
          'baseline time / verify time': baselineMs / identicalMs,
          'baseline CPU / verify CPU': median(baselineCpu) / median(candidateCpu),
          'localise 10 differences / identical time': diffMs / identicalMs,
          ...byShape.ratios,
        },
        targets: [
          {
            name: 'throughput',
            target: '>= 1,000,000 rows/s end to end (library call) on this 2-core machine',
            met: rowsPerSecond >= 1_000_000,
          },
          ...(installedRuns.length > 0
            ? [
                {
                  name: 'throughput of the installed command',
                  target: '>= 1,000,000 rows/s end to end (`handoff verify` process, start-up included)',
                  met: ROWS / (median(installedRuns) / 1000) >= 1_000_000,
                },
              ]
            : []),
          {
            name: 'localisation',
            target: 'ten scattered differences localised in < 2x the identical-case time',
            met: diffMs < 2 * identicalMs,
          },
          ...shapes.map((shape) => ({
            name: `throughput, ${shape.shape.name}`,
            target: '>= 1,000,000 rows/s (library call) for every common table shape (issue 11)',
            met: SHAPE_ROWS / (shape.verifyMs / 1000) >= 1_000_000,
          })),
        ],
        notes: [
          `chunkRows ${CHUNK_ROWS}, concurrency ${CONCURRENCY} sessions per side, both servers on the same 2 cores`,
          ...shapes.map(
            (shape) =>
              `shape ${shape.shape.name} (${SHAPE_ROWS} rows): verify ${shape.runs.map(Math.round).join('/')} ms, naive median ${Math.round(shape.baselineMs)} ms`,
          ),
          `runs: baseline ${baselineRuns.map(Math.round).join('/')} ms; verify ${candidateRuns.map(Math.round).join('/')} ms; with differences ${diffRuns.map(Math.round).join('/')} ms`,
          'servers: shared_buffers 512MB (the table fits in memory), max_parallel_workers_per_gather 0 (same for both)',
          `CPU runs: baseline ${baselineCpu.map((x) => x.toFixed(2)).join('/')} s; verify ${candidateCpu.map((x) => x.toFixed(2)).join('/')} s`,
          `machine load average (1 min) ${loadBefore.toFixed(1)} before, ${(os.loadavg()[0] ?? 0).toFixed(1)} after, on ${os.cpus().length} cores: other work competes for the CPU`,
        ],
      };
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  },
};
