/**
 * The machine's CPU in each stage of the demo, from /proc/stat: how many of its cores were busy
 * (user, nice, system, irq, softirq; everything on the machine, not only the demo) and how many the
 * hypervisor ran something else on (steal). process-cpu.ts says what the demo's own processes used;
 * this says what the machine had left. At 1,000 requests/s on two cores the service alone keeps
 * 1.6-1.8 cores busy, and whether a stage stays within its latency budget depends on the few tenths
 * of a core left, which the same host's other tenants moved threefold within an hour: a stage's
 * p99 read beside its busy and stolen cores tells the migration's harm from the machine's.
 */
import fs from 'node:fs';

/** Cumulative ticks of the aggregate `cpu` line. */
export interface MachineTicks {
  busy: number;
  steal: number;
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is inside user). */
  total: number;
  /** CPUs listed (`cpu0`, `cpu1`, ...). */
  cpus: number;
}

/** The aggregate line of /proc/stat, or null when the text has none. */
export function parseProcStat(text: string): MachineTicks | null {
  const lines = text.split('\n');
  const aggregate = lines.find((line) => /^cpu\s/.test(line));
  if (aggregate === undefined) return null;
  const f = aggregate.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((n) => !Number.isFinite(n))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const cpus = lines.filter((line) => /^cpu\d+\s/.test(line)).length;
  return {
    busy: user + nice + system + irq + softirq,
    steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    cpus: Math.max(1, cpus),
  };
}

function readProcStat(): MachineTicks | null {
  try {
    return parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null; // not Linux
  }
}

export interface MachineCpu {
  cores: number;
  /** Per stage, in cores (0 to `cores`): busy, and taken by the hypervisor. */
  stages: Record<string, { busyCores: number; stealCores: number }>;
}

export interface MachineCpuTracker {
  /** The stage from now on (its time adds to what that stage already had); null: none. */
  mark(stage: string | null): void;
  /** The stages so far; null when the machine's counters cannot be read. */
  result(): MachineCpu | null;
}

export function machineCpuTracker(read: () => MachineTicks | null = readProcStat): MachineCpuTracker {
  const sums = new Map<string, { busy: number; steal: number; total: number }>();
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
        const sum = sums.get(current.stage) ?? { busy: 0, steal: 0, total: 0 };
        sum.busy += now.busy - current.at.busy;
        sum.steal += now.steal - current.at.steal;
        sum.total += now.total - current.at.total;
        sums.set(current.stage, sum);
      }
      current = stage === null ? null : { stage, at: now };
    },
    result() {
      if (cpus === null) return null;
      const stages: MachineCpu['stages'] = {};
      for (const [stage, sum] of sums) {
        if (sum.total <= 0) continue;
        stages[stage] = { busyCores: cores(cpus, sum.busy, sum.total), stealCores: cores(cpus, sum.steal, sum.total) };
      }
      return { cores: cpus, stages };
    },
  };
}

function cores(cpus: number, ticks: number, total: number): number {
  return Math.round(((cpus * Math.max(0, ticks)) / total) * 100) / 100;
}
