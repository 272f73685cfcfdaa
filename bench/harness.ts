/**
 * The benchmark harness. Each benchmark measures itself against a baseline measured in the same
 * run (never against a fixed number), and writes one JSON file under bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProcStat } from '../src/common/proc-stat.js';

export const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');

export interface BenchMeasurement {
  name: string;
  value: number;
  unit: string;
}

export interface BenchResult {
  benchmark: string;
  /** What the candidate is compared with, measured in the same run. */
  baseline: string;
  measurements: BenchMeasurement[];
  /** candidate / baseline (or baseline / candidate where smaller is better), named. */
  ratios: Record<string, number>;
  /** Targets from the issues, and whether this run met them. */
  targets: Array<{ name: string; target: string; met: boolean }>;
  notes?: string[];
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchResult>;
}

export function machineFacts(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Loop iterations of the CPU calibration (3 × 10^8: 530-580 ms on the AMD EPYC host of 2026-12-07, 07:45 UTC). */
const CALIBRATION_ITERATIONS = 3e8;
// The loop's result, kept where the compiler cannot prove it unused.
let _calibrationSink = 0;

/**
 * A fixed single-threaded CPU task, timed: how fast this machine's CPU is for us now. Hosts differ
 * between sessions (an Intel Xeon, an AMD EPYC) and a shared host's speed changes by the hour (the
 * same kind of loop took 352-386 ms one morning and 570-830 ms three hours later, with nothing else
 * running), so a figure from another run reads only beside its calibration. Best of three.
 */
export function cpuCalibrationMs(): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const started = process.hrtime.bigint();
    let x = 0;
    for (let i = 0; i < CALIBRATION_ITERATIONS; i++) x += i % 7;
    _calibrationSink += x;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return Math.round(best);
}

/** The machine's CPU counters (the `cpu` line of /proc/stat, in USER_HZ ticks); null where unknown. */
export interface CpuTicks {
  total: number;
  idle: number;
  steal: number;
}

/** Parses the aggregate `cpu` line of /proc/stat; null when it is missing or malformed. */
export function parseCpuTicks(procStat: string): CpuTicks | null {
  const ticks = parseProcStat(procStat);
  // idle: idle + iowait, everything that is neither busy nor stolen
  return ticks && { total: ticks.total, idle: ticks.total - ticks.busy - ticks.steal, steal: ticks.steal };
}

export function readCpuTicks(): CpuTicks | null {
  try {
    return parseCpuTicks(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** What the machine was like around one benchmark: its CPU's speed before and after, and the share of time taken by the host. */
export interface MachineConditions {
  /** `cpuCalibrationMs` before and after the benchmark. */
  calibrationMs: { before: number; after: number };
  /** Share of the machine's CPU time stolen by the host (other guests) during the benchmark; null where unknown. */
  stealShare: number | null;
  /** Share of the machine's CPU time busy (not idle) during the benchmark; null where unknown. */
  busyShare: number | null;
}

/** Between two readings of the counters: the shares of stolen and busy time; null when either is unknown or no time passed. */
export function tickShares(
  before: CpuTicks | null,
  after: CpuTicks | null,
): { steal: number | null; busy: number | null } {
  const total = before && after ? after.total - before.total : 0;
  if (!before || !after || total <= 0) return { steal: null, busy: null };
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return { steal: round((after.steal - before.steal) / total), busy: round(1 - (after.idle - before.idle) / total) };
}

/** Measures the machine before a benchmark; `finish` measures it after, for the result's `machine.conditions`. */
export function watchMachine(): { finish(): MachineConditions } {
  const before = cpuCalibrationMs();
  const ticks = readCpuTicks();
  return {
    finish() {
      const shares = tickShares(ticks, readCpuTicks());
      return {
        calibrationMs: { before, after: cpuCalibrationMs() },
        stealShare: shares.steal,
        busyShare: shares.busy,
      };
    },
  };
}

export function writeResult(result: BenchResult, conditions?: MachineConditions): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${result.benchmark}.json`);
  const body = {
    ...result,
    at: new Date().toISOString(),
    machine: { ...machineFacts(), ...(conditions ? { conditions } : {}) },
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
