/**
 * The scale benchmark (issue 11, point 7): the demo at 1,000,000 orders and 1,000 requests/s, as a
 * user runs it (`handoff demo --rows N --rate R -o json`, the installed command on dist/), and the
 * figures a user would quote, per stage: duration, copy and verify rows/s, the clients' p50/p99/max
 * against the baseline window measured before the run started (the baseline of this benchmark, in
 * the same run), failed and not-sent requests, throttle pauses, the client-observed write pause and
 * CPU per request per process. `SCALE_BENCH_ROWS=10000000` gives the headline run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { repoRoot } from '../test/support/cli.js';
import { makeTempDir } from '../test/support/tmp.js';
import type { Benchmark, BenchMeasurement, BenchResult } from './harness.js';

const ROWS = Number(process.env.SCALE_BENCH_ROWS ?? 1_000_000);
const RATE = Number(process.env.SCALE_BENCH_RATE ?? 1000);
/**
 * The control before the run (`handoff demo --control`): this long of the same load with nothing
 * migrating, in 30 s windows judged by the run's budget; what the machine does to the service by
 * itself, measured in the same run. `SCALE_BENCH_CONTROL=0s` leaves it out.
 */
const CONTROL = process.env.SCALE_BENCH_CONTROL ?? '3m';
/** Bound on the whole demo (the 10 M-row run loads for many minutes). */
const TIMEOUT_MS = Number(process.env.SCALE_BENCH_TIMEOUT_MS ?? 90 * 60_000);

const classLatency = z.object({
  count: z.number(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
});
/** The fields of `handoff demo -o json` this benchmark reads (validated, never cast). */
const demoJson = z.object({
  ok: z.boolean(),
  requests: z.object({
    offered: z.number(),
    total: z.number(),
    failed: z.number(),
    notSent: z.number(),
    perSecond: z.number(),
  }),
  latency: z.object({
    baseline: z.object({ p50Ms: z.number().nullable(), p99Ms: z.number().nullable() }),
    stages: z.record(z.string(), z.object({ reads: classLatency, writes: classLatency })),
  }),
  writes: z.object({ acknowledged: z.number(), lost: z.number(), duplicated: z.number() }),
  cutover: z.object({
    writePauseMs: z.number().nullable(),
    routerPauseMs: z.number().nullable(),
    held: z.number(),
    failed: z.number(),
  }),
  stages: z.record(z.string(), z.object({ durationMs: z.number().nullable() })),
  throttle: z.object({ pauses: z.number(), pausedMs: z.number() }),
  cpu: z
    .object({
      perRequestMs: z.record(z.string(), z.number()),
      cores: z.record(z.string(), z.number()),
      machine: z
        .object({
          cores: z.number(),
          stages: z.record(
            z.string(),
            z.object({
              busyCores: z.number(),
              stealCores: z.number(),
              cpuWaitShare: z.number().optional(),
              ioWaitShare: z.number().optional(),
            }),
          ),
        })
        .optional(),
    })
    .optional(),
  verification: z.object({ rowsCompared: z.number(), identical: z.boolean() }),
  control: z
    .object({
      windows: z.array(
        z.object({ stage: z.string(), reads: classLatency, writes: classLatency, overBudget: z.boolean() }),
      ),
      overBudget: z.number(),
    })
    .optional(),
});
type DemoJson = z.infer<typeof demoJson>;

const PIPELINE = ['preflight', 'provision', 'replicate', 'verify', 'shift', 'cutover', 'bake', 'finalize'];

function runDemo(
  stateDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
  const started = Date.now();
  const bin = path.join(repoRoot, 'bin', 'handoff.js');
  const args = [
    bin,
    'demo',
    '--rows',
    String(ROWS),
    '--rate',
    String(RATE),
    '--control',
    CONTROL,
    '--state-dir',
    stateDir,
    '-o',
    'json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: stateDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGINT'), TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** The last JSON object printed (the summary), validated. */
function summaryOf(stdout: string): DemoJson {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`handoff demo printed no JSON: ${stdout.slice(0, 500)}`);
  return demoJson.parse(JSON.parse(stdout.slice(start)));
}

/**
 * `SCALE_BENCH_KEEP=DIR`: the run's audit trail and report are copied to DIR before the state
 * directory goes (it also holds both servers' data, gigabytes at 10 M orders), so a long run's
 * steps can be read afterwards.
 */
function keepTrail(stateDir: string): void {
  const keep = process.env.SCALE_BENCH_KEEP;
  if (!keep) return;
  fs.mkdirSync(keep, { recursive: true });
  for (const part of ['audit', 'reports']) {
    const from = path.join(stateDir, part);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(keep, part), { recursive: true });
  }
  process.stderr.write(`scale: the audit trail and report kept in ${keep}\n`);
}

export const scaleBenchmark: Benchmark = {
  name: 'scale',
  async run(): Promise<BenchResult> {
    const loadBefore = os.loadavg();
    const tmp = makeTempDir('handoff-scale-');
    const loadSamples: number[] = [];
    const sampler = setInterval(() => loadSamples.push(os.loadavg()[0] ?? 0), 10_000);
    try {
      fs.chmodSync(tmp.dir, 0o755);
      const run = await runDemo(tmp.dir);
      if (run.code !== 0 && run.code !== 1)
        throw new Error(`handoff demo exited ${run.code}: ${run.stderr.slice(-2000)}`);
      const s = summaryOf(run.stdout);
      const baseline = s.latency.baseline.p99Ms;
      const bound = baseline === null ? null : Math.max(2 * baseline, baseline + 100);
      const measurements: BenchMeasurement[] = [
        { name: 'orders in the source database', value: ROWS, unit: 'rows' },
        { name: 'rows compared by verification (all tables)', value: s.verification.rowsCompared, unit: 'rows' },
        { name: 'offered rate', value: RATE, unit: 'requests/s' },
        { name: 'demo wall time, end to end (load, run, final comparison)', value: run.elapsedMs, unit: 'ms' },
        { name: 'requests offered', value: s.requests.offered, unit: 'requests' },
        { name: 'requests sent', value: s.requests.total, unit: 'requests' },
        { name: 'requests not sent', value: s.requests.notSent, unit: 'requests' },
        { name: 'requests failed', value: s.requests.failed, unit: 'requests' },
        { name: 'sent per second', value: s.requests.perSecond, unit: 'requests/s' },
        { name: 'baseline client p50', value: s.latency.baseline.p50Ms ?? Number.NaN, unit: 'ms' },
        { name: 'baseline client p99', value: baseline ?? Number.NaN, unit: 'ms' },
        { name: 'client-observed write pause', value: s.cutover.writePauseMs ?? Number.NaN, unit: 'ms' },
        { name: "router's write pause", value: s.cutover.routerPauseMs ?? Number.NaN, unit: 'ms' },
        { name: 'throttle pauses', value: s.throttle.pauses, unit: 'pauses' },
        { name: 'throttle paused', value: s.throttle.pausedMs, unit: 'ms' },
        { name: 'writes lost', value: s.writes.lost, unit: 'writes' },
        { name: 'writes duplicated', value: s.writes.duplicated, unit: 'writes' },
      ];
      const ratios: Record<string, number> = {};
      let pipelineMs = 0;
      let latencyWithin = bound !== null;
      for (const stage of PIPELINE) {
        const duration = s.stages[stage]?.durationMs ?? null;
        if (duration !== null) {
          pipelineMs += duration;
          measurements.push({ name: `${stage}: duration`, value: duration, unit: 'ms' });
        }
        const latency = s.latency.stages[stage];
        for (const cls of ['reads', 'writes'] as const) {
          const l = latency?.[cls];
          if (!l || l.count === 0) continue;
          measurements.push({ name: `${stage}: ${cls} p50`, value: l.p50Ms ?? Number.NaN, unit: 'ms' });
          measurements.push({ name: `${stage}: ${cls} p99`, value: l.p99Ms ?? Number.NaN, unit: 'ms' });
          measurements.push({ name: `${stage}: ${cls} max`, value: l.maxMs ?? Number.NaN, unit: 'ms' });
          if (baseline !== null && l.p99Ms !== null) ratios[`${stage} ${cls} p99 / baseline p99`] = l.p99Ms / baseline;
          if (bound !== null && l.p99Ms !== null && l.p99Ms > bound) latencyWithin = false;
        }
      }
      const replicateMs = s.stages.replicate?.durationMs ?? null;
      const verifyMs = s.stages.verify?.durationMs ?? null;
      if (replicateMs)
        measurements.push({
          name: 'copy rows/s (rows compared / replicate stage)',
          value: s.verification.rowsCompared / (replicateMs / 1000),
          unit: 'rows/s',
        });
      if (verifyMs)
        measurements.push({
          name: 'verify rows/s (rows compared / verify stage)',
          value: s.verification.rowsCompared / (verifyMs / 1000),
          unit: 'rows/s',
        });
      measurements.push({ name: 'stages preflight to finalize, together', value: pipelineMs, unit: 'ms' });
      // The control: the same budget applied to windows in which nothing was migrating.
      if (s.control) {
        measurements.push(
          { name: 'control windows (nothing migrating)', value: s.control.windows.length, unit: 'windows' },
          { name: 'control windows over the latency budget', value: s.control.overBudget, unit: 'windows' },
        );
        for (const w of s.control.windows)
          for (const cls of ['reads', 'writes'] as const)
            measurements.push({ name: `${w.stage}: ${cls} p99`, value: w[cls].p99Ms ?? Number.NaN, unit: 'ms' });
      }
      for (const [process, ms] of Object.entries(s.cpu?.perRequestMs ?? {}))
        measurements.push({ name: `CPU per request: ${process}`, value: ms, unit: 'ms' });
      for (const [process, cores] of Object.entries(s.cpu?.cores ?? {}))
        measurements.push({ name: `cores used: ${process}`, value: cores, unit: 'cores' });
      // What the machine had left in each stage (busy: everything on it; steal: the hypervisor's).
      for (const [stage, m] of Object.entries(s.cpu?.machine?.stages ?? {})) {
        measurements.push({ name: `machine busy: ${stage}`, value: m.busyCores, unit: 'cores' });
        measurements.push({ name: `machine stolen: ${stage}`, value: m.stealCores, unit: 'cores' });
        if (m.cpuWaitShare !== undefined)
          measurements.push({
            name: `machine, some task waiting for CPU: ${stage}`,
            value: m.cpuWaitShare,
            unit: 'share',
          });
        if (m.ioWaitShare !== undefined)
          measurements.push({
            name: `machine, some task waiting for I/O: ${stage}`,
            value: m.ioWaitShare,
            unit: 'share',
          });
      }
      const sentShare = s.requests.offered > 0 ? s.requests.total / s.requests.offered : 0;
      return {
        benchmark: ROWS === 1_000_000 ? 'scale' : `scale-${ROWS}`,
        baseline:
          "the clients' own latency in the quieter of the two baseline windows before the run started (same run, same load)",
        measurements,
        ratios,
        targets: [
          { name: 'ok', target: 'handoff demo reports ok', met: s.ok },
          { name: 'sent', target: '>= 95 % of offered requests sent', met: sentShare >= 0.95 },
          { name: 'failed', target: '0 failed requests', met: s.requests.failed === 0 },
          {
            name: 'writes',
            target: '0 lost or duplicated writes',
            met: s.writes.lost === 0 && s.writes.duplicated === 0,
          },
          {
            name: 'write pause',
            target: 'client-observed write pause < 500 ms',
            met: s.cutover.writePauseMs !== null && s.cutover.writePauseMs < 500,
          },
          {
            name: 'latency',
            target: 'every stage: client p99 <= max(2 x baseline p99, baseline p99 + 100 ms)',
            met: latencyWithin,
          },
          {
            name: 'pipeline time',
            target: 'stages preflight to finalize < 3 minutes together',
            met: pipelineMs > 0 && pipelineMs < 180_000,
          },
        ],
        notes: [
          `handoff demo --rows ${ROWS} --rate ${RATE} --control ${CONTROL} -o json, installed command (bin/handoff.js on dist/), exit ${run.code}`,
          `machine load average before: ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) on ${os.cpus().length} cores; during the run (1 min, every 10 s): min ${Math.min(...loadSamples, Infinity).toFixed(1)}, max ${Math.max(...loadSamples, 0).toFixed(1)}`,
          `latency bound from the baseline: ${bound === null ? 'none (no baseline)' : `${bound.toFixed(1)} ms`}`,
        ],
      };
    } finally {
      clearInterval(sampler);
      keepTrail(tmp.dir);
      tmp.cleanup();
    }
  },
};
