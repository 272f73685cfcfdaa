/**
 * Verification throughput by table shape (issue 11, point 4): the same rows-per-second promise
 * must hold for every common shape, not only the main benchmark's bigint key. Each shape is one
 * table of `rows` identical rows on both servers; the candidate is `verifyTables` on that table,
 * the baseline the naive whole-table digest on both sides concurrently, measured in the same run.
 */
import os from 'node:os';
import { sleep } from '../src/common/net.js';
import { verifyTables } from '../src/data/postgres/verify/verify-tables.js';
import { cpuSeconds } from './cpu.js';
import type { TestPostgres } from '../test/support/postgres.js';
import type { BenchMeasurement } from './harness.js';

export interface Shape {
  name: string;
  table: string;
  /** Key columns in order, for the baseline's ORDER BY. */
  key: string;
  create: string;
  /** `$ROWS` is replaced by the row count. */
  fill: string;
}

export const SHAPES: Shape[] = [
  {
    name: 'bigint key (reference)',
    table: 'shape_int8',
    key: 'id',
    create: 'create table shape_int8 (id bigint primary key, kind text not null, at timestamptz not null)',
    fill: `insert into shape_int8 select g, 'k' || (g % 7), '2024-01-01'::timestamptz + g * interval '1 second' from generate_series(1, $ROWS) g`,
  },
  {
    name: 'two-column key (order_id bigint, seq int)',
    table: 'shape_key2',
    key: 'order_id, seq',
    create:
      'create table shape_key2 (order_id bigint, seq int, kind text not null, at timestamptz not null, primary key (order_id, seq))',
    fill: `insert into shape_key2 select g / 4, g % 4, 'k' || (g % 7), '2024-01-01'::timestamptz + g * interval '1 second' from generate_series(0, $ROWS - 1) g`,
  },
  {
    name: 'three-column key (region text, order_no int, line smallint)',
    table: 'shape_key3',
    key: 'region, order_no, line',
    create:
      'create table shape_key3 (region text, order_no int, line smallint, qty int not null, primary key (region, order_no, line))',
    fill: `insert into shape_key3 select 'r' || (g / 10 % 5), g / 50, (g % 10)::smallint, g % 13 from generate_series(0, $ROWS - 1) g`,
  },
  {
    name: 'text key',
    table: 'shape_text_key',
    key: 'code',
    create: 'create table shape_text_key (code text primary key, qty int not null)',
    fill: `insert into shape_text_key select 'code-' || lpad(g::text, 9, '0'), g % 13 from generate_series(1, $ROWS) g`,
  },
  {
    name: 'uuid key',
    table: 'shape_uuid_key',
    key: 'id',
    create: 'create table shape_uuid_key (id uuid primary key, qty int not null)',
    fill: `insert into shape_uuid_key select md5(g::text)::uuid, g % 13 from generate_series(1, $ROWS) g`,
  },
  {
    name: 'jsonb documents (~200 bytes)',
    table: 'shape_jsonb',
    key: 'id',
    create: 'create table shape_jsonb (id bigint primary key, doc jsonb not null)',
    fill: `insert into shape_jsonb select g, jsonb_build_object('customer', 'c-' || (g % 5000), 'channel', 'web', 'items',
             jsonb_build_array(jsonb_build_object('sku', 's' || (g % 97), 'qty', g % 5), jsonb_build_object('sku', 't' || (g % 31), 'qty', 1)),
             'total', (g % 10000) / 100.0, 'paid', g % 2 = 0) from generate_series(1, $ROWS) g`,
  },
  {
    name: 'wide text (~400 bytes)',
    table: 'shape_wide_text',
    key: 'id',
    create: 'create table shape_wide_text (id bigint primary key, body text not null)',
    fill: `insert into shape_wide_text select g, repeat(md5(g::text), 12) from generate_series(1, $ROWS) g`,
  },
  {
    name: 'numeric columns',
    table: 'shape_numeric',
    key: 'id',
    create:
      'create table shape_numeric (id bigint primary key, price numeric(12,2) not null, rate numeric not null, big numeric(30,6) not null)',
    fill: `insert into shape_numeric select g, (g % 100000) / 100.0, g / 7.0, g * 1234567.123456 from generate_series(1, $ROWS) g`,
  },
];

export interface ShapeResult {
  shape: Shape;
  verifyMs: number;
  baselineMs: number;
  runs: number[];
  /** CPU seconds of both servers and this process per verify run (median): what the work costs on a shared machine. */
  verifyCpu: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Loads each shape on both servers, then times verify and the naive digest (interleaved, median of `repeat`). */
export async function runShapes(
  a: TestPostgres,
  b: TestPostgres,
  rows: number,
  repeat: number,
  chunkRows: number,
  concurrency: number,
): Promise<ShapeResult[]> {
  await Promise.all([a, b].map((server) => server.createDatabase('shapes')));
  const out: ShapeResult[] = [];
  for (const shape of SHAPES) {
    const sql = `${shape.create}; ${shape.fill.replaceAll('$ROWS', String(rows))};`;
    await Promise.all(
      [a, b].map(async (server) => {
        await server.query(sql, [], 'shapes');
        await server.query(`vacuum analyze ${shape.table}`, [], 'shapes');
      }),
    );
    const options = {
      source: a.url('shapes'),
      target: b.url('shapes'),
      tables: [{ schema: 'public', name: shape.table }],
      chunkRows,
      concurrency,
    };
    const naive = `select md5(string_agg(md5(t::text), '' order by ${shape.key})) as d from ${shape.table} t`;
    await verifyTables(options); // warm
    const runs: number[] = [];
    const baselines: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < repeat; i++) {
      baselines.push(await timed(() => Promise.all([a.query(naive, [], 'shapes'), b.query(naive, [], 'shapes')])));
      await sleep(300);
      const before = cpuSeconds([a.pid, b.pid]);
      runs.push(
        await timed(async () => {
          const report = await verifyTables(options);
          if (!report.identical || report.rowsCompared !== rows)
            throw new Error(`${shape.name}: verify did not report ${rows} identical rows`);
        }),
      );
      await sleep(300); // let the postmasters reap the ended backends, so their CPU time is counted
      cpu.push(cpuSeconds([a.pid, b.pid]) - before);
    }
    out.push({ shape, verifyMs: median(runs), baselineMs: median(baselines), runs, verifyCpu: median(cpu) });
    // one shape's table at a time in memory
    await Promise.all([a, b].map((server) => server.query(`drop table ${shape.table}`, [], 'shapes')));
  }
  return out;
}

export function shapeMeasurements(
  results: readonly ShapeResult[],
  rows: number,
): { measurements: BenchMeasurement[]; ratios: Record<string, number> } {
  const measurements: BenchMeasurement[] = [];
  const ratios: Record<string, number> = {};
  for (const r of results) {
    measurements.push({
      name: `shape ${r.shape.name}: verify throughput (median)`,
      value: rows / (r.verifyMs / 1000),
      unit: 'rows/s',
    });
    measurements.push({
      name: `shape ${r.shape.name}: naive baseline throughput (median)`,
      value: rows / (r.baselineMs / 1000),
      unit: 'rows/s',
    });
    measurements.push({
      name: `shape ${r.shape.name}: verify CPU, both servers and handoff (median)`,
      value: r.verifyCpu,
      unit: 's',
    });
    measurements.push({
      name: `shape ${r.shape.name}: verify throughput projected on idle cores`,
      value: rows / (r.verifyCpu / os.cpus().length),
      unit: 'rows/s',
    });
    ratios[`shape ${r.shape.name}: baseline time / verify time`] = r.baselineMs / r.verifyMs;
  }
  return { measurements, ratios };
}
