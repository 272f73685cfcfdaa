/**
 * CPU per request of each process of the demo: this process (load generator and engine together)
 * through process.cpuUsage(), every child in the process registry (router, demo services, the two
 * PostgreSQL servers, each a postmaster with its backends: see cpuOfTree) through /proc/PID/stat.
 * Two readings, before and after the load, give CPU milliseconds per request sent.
 */
import fs from 'node:fs';
import type { ProcessRegistry } from '../common/children.js';

/** Linux reports times in clock ticks; USER_HZ is 100 on every common build. */
const TICK_MS = 10;

export interface CpuReading {
  at: number;
  /** CPU milliseconds (user + system) per process name. */
  ms: Record<string, number>;
}

/** utime + stime of one process and its waited-for children, in ms; null when it is gone. */
function procCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks * TICK_MS : null;
  } catch {
    return null;
  }
}

/** A PostgreSQL server's CPU is spread over its backends: the postmaster and every child of it. */
function cpuOfTree(pid: number): number | null {
  const own = procCpuMs(pid);
  if (own === null) return null;
  let total = own;
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) total += procCpuMs(Number(child)) ?? 0;
  } catch {
    /* no children file: the process alone */
  }
  return total;
}

export function readCpu(registry: ProcessRegistry, selfName = 'handoff (load + engine)'): CpuReading {
  const usage = process.cpuUsage();
  const ms: Record<string, number> = { [selfName]: (usage.user + usage.system) / 1000 };
  for (const record of registry.records()) {
    const value = cpuOfTree(record.pid);
    if (value !== null) ms[record.name] = (ms[record.name] ?? 0) + value;
  }
  return { at: Date.now(), ms };
}

export interface CpuPerRequest {
  /** CPU milliseconds per request sent, per process; a process seen only at the end counts from 0. */
  perRequestMs: Record<string, number>;
  /** Share of one core each process used over the interval. */
  cores: Record<string, number>;
}

export function cpuPerRequest(before: CpuReading, after: CpuReading, requests: number): CpuPerRequest {
  const perRequestMs: Record<string, number> = {};
  const cores: Record<string, number> = {};
  const elapsed = Math.max(1, after.at - before.at);
  for (const [name, end] of Object.entries(after.ms)) {
    const used = Math.max(0, end - (before.ms[name] ?? 0));
    perRequestMs[name] = requests > 0 ? Math.round((used / requests) * 1000) / 1000 : 0;
    cores[name] = Math.round((used / elapsed) * 100) / 100;
  }
  return { perRequestMs, cores };
}
