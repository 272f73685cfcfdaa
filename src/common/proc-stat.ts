/**
 * The aggregate `cpu` line of Linux's /proc/stat, in USER_HZ ticks since boot: one parser for the
 * demo's per-stage machine figures (src/demo/machine-cpu.ts) and the benchmarks' machine conditions
 * (bench/harness.ts).
 */

export interface ProcStatTicks {
  /** user + nice + system + irq + softirq. */
  busy: number;
  /** Time the hypervisor ran something else while this machine had work. */
  steal: number;
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is inside user). */
  total: number;
  /** CPUs listed (`cpu0`, `cpu1`, ...), at least 1. */
  cpus: number;
}

/** The aggregate line of /proc/stat, or null when the text has none or it is not 8 numbers at least. */
export function parseProcStat(text: string): ProcStatTicks | null {
  const lines = text.split('\n');
  const aggregate = lines.find((line) => /^cpu\s/.test(line));
  if (aggregate === undefined) return null;
  const f = aggregate.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 8 || f.some((n) => !Number.isFinite(n))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const cpus = lines.filter((line) => /^cpu\d+\s/.test(line)).length;
  return {
    busy: user + nice + system + irq + softirq,
    steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    cpus: Math.max(1, cpus),
  };
}
