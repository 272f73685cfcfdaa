/**
 * The machine's CPU in each stage of the demo, from /proc/stat: how many of its cores were busy
 * (user, nice, system, irq, softirq; everything on the machine, not only the demo) and how many the
 * hypervisor ran something else on (steal). process-cpu.ts says what the demo's own processes used;
 * this says what the machine had left. At 1,000 requests/s on two cores the service alone keeps
 * 1.6-1.8 cores busy, and whether a stage stays within its latency budget depends on the few tenths
 * of a core left, which the same host's other tenants moved threefold within an hour: a stage's
 * p99 read beside its busy and stolen cores tells the migration's harm from the machine's.
 *
 * Where the kernel has pressure stall information (/proc/pressure), each stage also gets the share
 * of its time in which some runnable task waited for a CPU (`cpuWaitShare`) and in which some task
 * waited for I/O (`ioWaitShare`): a host can be slow with cores idle and nothing stolen (a 1 M-order
 * run of 2026-12-07 had 1.67 of 2 cores busy in `replicate` and its p99 at 442 ms), and PostgreSQL's
 * commits wait on the disk.
 */
import fs from 'node:fs';
import { parseProcStat, type ProcStatTicks } from '../common/proc-stat.js';

/** The aggregate `cpu` line's ticks, with the pressure totals read at the same moment. */
export interface MachineTicks extends ProcStatTicks {
  /** Microseconds in which some task waited for a CPU, and for I/O (/proc/pressure); null without. */
  cpuSomeUs?: number | null;
  ioSomeUs?: number | null;
}

/** The `some` line's total (microseconds) of a /proc/pressure file, or null. */
export function parsePressureSome(text: string): number | null {
  const match = /^some .*\btotal=(\d+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

function readPressure(resource: 'cpu' | 'io'): number | null {
  try {
    return parsePressureSome(fs.readFileSync(`/proc/pressure/${resource}`, 'utf8'));
  } catch {
    return null; // no pressure stall information (an older kernel, or not Linux)
  }
}

function readMachine(): MachineTicks | null {
  let ticks: MachineTicks | null;
  try {
    ticks = parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null; // not Linux
  }
  return ticks && { ...ticks, cpuSomeUs: readPressure('cpu'), ioSomeUs: readPressure('io') };
}

export interface MachineCpu {
  cores: number;
  /**
   * Per stage, in cores (0 to `cores`): busy, and taken by the hypervisor; with pressure stall
   * information, the share of the stage's time (0 to 1) some task waited for a CPU, and for I/O.
   */
  stages: Record<string, MachineStage>;
}

export interface MachineStage {
  busyCores: number;
  stealCores: number;
  cpuWaitShare?: number;
  ioWaitShare?: number;
}

interface StageSum {
  busy: number;
  steal: number;
  total: number;
  /** Wall time from the ticks (ms), and the pressure totals' growth (µs); null once a reading had none. */
  wallMs: number;
  cpuSomeUs: number | null;
  ioSomeUs: number | null;
}

export interface MachineCpuTracker {
  /** The stage from now on (its time adds to what that stage already had); null: none. */
  mark(stage: string | null): void;
  /** The stages so far; null when the machine's counters cannot be read. */
  result(): MachineCpu | null;
}

export function machineCpuTracker(read: () => MachineTicks | null = readMachine): MachineCpuTracker {
  const sums = new Map<string, StageSum>();
  let current: { stage: string; at: MachineTicks } | null = null;
  let cpus: number | null = null;
  return {
    mark(stage) {
      const now = read();
      if (now === null) {
        current = null;
        return;
      }
      cpus = now.cpus;
      if (current !== null) {
        const was = current.at;
        const sum = sums.get(current.stage) ?? { busy: 0, steal: 0, total: 0, wallMs: 0, cpuSomeUs: 0, ioSomeUs: 0 };
        sum.busy += now.busy - was.busy;
        sum.steal += now.steal - was.steal;
        sum.total += now.total - was.total;
        // Every CPU's ticks (100 a second each) add up to the total: the wall time between the readings.
        sum.wallMs += ((now.total - was.total) * 10) / now.cpus;
        sum.cpuSomeUs = grown(sum.cpuSomeUs, was.cpuSomeUs, now.cpuSomeUs);
        sum.ioSomeUs = grown(sum.ioSomeUs, was.ioSomeUs, now.ioSomeUs);
        sums.set(current.stage, sum);
      }
      current = stage === null ? null : { stage, at: now };
    },
    result() {
      if (cpus === null) return null;
      const stages: MachineCpu['stages'] = {};
      for (const [stage, sum] of sums) {
        if (sum.total <= 0) continue;
        stages[stage] = {
          busyCores: cores(cpus, sum.busy, sum.total),
          stealCores: cores(cpus, sum.steal, sum.total),
          ...(sum.cpuSomeUs !== null ? { cpuWaitShare: share(sum.cpuSomeUs, sum.wallMs) } : {}),
          ...(sum.ioSomeUs !== null ? { ioWaitShare: share(sum.ioSomeUs, sum.wallMs) } : {}),
        };
      }
      return { cores: cpus, stages };
    },
  };
}

/** A pressure total's growth added to a stage's; null when either reading lacks it. */
function grown(sum: number | null, was: number | null | undefined, now: number | null | undefined): number | null {
  if (sum === null || was === null || was === undefined || now === null || now === undefined) return null;
  return sum + Math.max(0, now - was);
}

function cores(cpus: number, ticks: number, total: number): number {
  return Math.round(((cpus * Math.max(0, ticks)) / total) * 100) / 100;
}

function share(stalledUs: number, wallMs: number): number {
  return wallMs > 0 ? Math.round(Math.min(1, stalledUs / 1000 / wallMs) * 100) / 100 : 0;
}
