/**
 * The benchmark harness. Each benchmark measures itself against a baseline measured in the same
 * run (never against a fixed number), and writes one JSON file under bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function writeResult(result: BenchResult): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${result.benchmark}.json`);
  const body = { ...result, at: new Date().toISOString(), machine: machineFacts() };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
