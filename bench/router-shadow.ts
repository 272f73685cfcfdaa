/**
 * The router benchmark's shadow phase (issue 15): the same GET load through the router with no
 * shadow, then with 20 % of reads mirrored to the target (and 10 % of those read twice from the
 * source for noise), rounds interleaved so background noise hits both alike. Judged on the client's
 * median latency: mirroring must add under 5 %. Measured under an open-loop load of 400 requests/s
 * (below the router's capacity on a 2-core machine, as a service runs) and one request at a time.
 */
import { Pool, request } from 'undici';
import { createHistogram } from '../src/traffic/builtin/histogram.js';
import type { BenchMeasurement } from './harness.js';

interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

type Load = (
  url: string,
  count: number,
  pick?: (i: number) => 'GET' | 'POST',
  concurrency?: number,
) => Promise<LoadResult>;

export interface ShadowPhaseOptions {
  routerUrl: string;
  adminUrl: string;
  token: string;
  load: Load;
  count: number;
  rounds: number;
}

/** Open-loop load: `count` GETs sent at `rate` per second whatever the answers' pace (as real clients do). */
async function paced(url: string, count: number, rate: number): Promise<LoadResult> {
  const pool = new Pool(url, { connections: 64, pipelining: 1 });
  const histogram = createHistogram();
  let errors = 0;
  const started = performance.now();
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    sends.push(
      pool.request({ path: `/items/${i % 1000}`, method: 'GET' }).then(
        async (response) => {
          await response.body.dump();
          if (response.statusCode !== 200) errors++;
          histogram.record((performance.now() - t0) * 1000);
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(sends);
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return {
    rps: count / elapsed,
    p50Ms: (histogram.quantile(0.5) ?? 0) / 1000,
    p99Ms: (histogram.quantile(0.99) ?? 0) / 1000,
    errors,
  };
}

const RATE = 400;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

async function admin(options: ShadowPhaseOptions, method: 'PUT' | 'DELETE' | 'GET', body?: unknown): Promise<unknown> {
  const response = await request(`${options.adminUrl}/v1/shadow`, {
    method,
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: unknown = await response.body.json();
  if (response.statusCode !== 200)
    throw new Error(`shadow admin ${method}: ${response.statusCode} ${JSON.stringify(json)}`);
  return json;
}

export async function shadowPhase(options: ShadowPhaseOptions): Promise<{
  measurements: BenchMeasurement[];
  ratios: Record<string, number>;
  targets: Array<{ name: string; target: string; met: boolean }>;
  notes: string[];
}> {
  const off: LoadResult[] = [];
  const on: LoadResult[] = [];
  const quietOff: LoadResult[] = [];
  const quietOn: LoadResult[] = [];
  let compared = 0;
  let dropped = 0;
  for (let round = 0; round < options.rounds; round++) {
    off.push(await paced(options.routerUrl, options.count, RATE));
    quietOff.push(await options.load(options.routerUrl, Math.ceil(options.count / 5), () => 'GET', 1));
    await admin(options, 'PUT', { share: 0.2, noiseShare: 0.1 });
    on.push(await paced(options.routerUrl, options.count, RATE));
    quietOn.push(await options.load(options.routerUrl, Math.ceil(options.count / 5), () => 'GET', 1));
    const status = (await admin(options, 'DELETE')) as {
      counters: { compared: number; dropped: Record<string, number> };
    };
    compared += status.counters.compared;
    dropped += Object.values(status.counters.dropped).reduce((a, b) => a + b, 0);
  }
  const p50 = (runs: LoadResult[]): number => median(runs.map((r) => r.p50Ms));
  const added = p50(on) / Math.max(p50(off), 1e-6) - 1;
  const addedQuiet = p50(quietOn) / Math.max(p50(quietOff), 1e-6) - 1;
  const errors = [...off, ...on, ...quietOff, ...quietOn].reduce((n, r) => n + r.errors, 0);
  return {
    measurements: [
      { name: 'shadow off: router-p50 (400/s)', value: p50(off), unit: 'ms' },
      { name: 'shadow 20 %: router-p50 (400/s)', value: p50(on), unit: 'ms' },
      { name: 'shadow off: router-p50 (unloaded)', value: p50(quietOff), unit: 'ms' },
      { name: 'shadow 20 %: router-p50 (unloaded)', value: p50(quietOn), unit: 'ms' },
      { name: 'shadow 20 %: router-rps (400/s)', value: median(on.map((r) => r.rps)), unit: 'requests/s' },
      { name: 'shadow off: router-rps (400/s)', value: median(off.map((r) => r.rps)), unit: 'requests/s' },
      { name: 'shadow: reads compared', value: compared, unit: 'requests' },
      { name: 'shadow: copies dropped', value: dropped, unit: 'requests' },
      { name: 'shadow phase: client errors', value: errors, unit: 'requests' },
    ],
    ratios: {
      'shadow 20 %/off client p50 (400/s)': p50(on) / Math.max(p50(off), 1e-6),
      'shadow 20 %/off client p50 (unloaded)': p50(quietOn) / Math.max(p50(quietOff), 1e-6),
    },
    targets: [
      {
        name: 'shadow mirroring',
        target: 'mirroring 20 % of reads adds under 5 % to the client median latency (400/s), no client error',
        met: added < 0.05 && errors === 0 && compared > 0,
      },
    ],
    notes: [
      `shadow phase: ${options.rounds} interleaved rounds of ${options.count} GETs at ${RATE}/s (open loop) and ${Math.ceil(options.count / 5)} one at a time, off then 20 %; unloaded p50 added ${(addedQuiet * 100).toFixed(1)} %`,
    ],
  };
}
