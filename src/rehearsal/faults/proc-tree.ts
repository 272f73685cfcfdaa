/**
 * Processes as Linux's /proc shows them, for the process fault: a process's start time (so a pid
 * that ended and was reused is never signalled) and its descendants (a PostgreSQL server is its
 * postmaster and the backends it forked). Reads only; signals nothing.
 */
import fs from 'node:fs';

export interface ProcessId {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot; with the pid it names one process. */
  startTime: string;
}

interface Stat {
  ppid: number;
  state: string;
  startTime: string;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, startTime] = [fields[0], fields[1], fields[19]];
  if (state === undefined || ppid === undefined || startTime === undefined) return null;
  return { state, ppid: Number(ppid), startTime };
}

/** The process with this pid now, or null when there is none (or only its zombie). */
export function identify(pid: number): ProcessId | null {
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return null;
  return { pid, startTime: stat.startTime };
}

/** Whether the process named by `id` still runs (not ended, not a zombie, its pid not reused). */
export function isSameProcess(id: ProcessId): boolean {
  return identify(id.pid)?.startTime === id.startTime;
}

/** Every live descendant of `pid` (children, their children, ...), parents before children. */
export function descendants(pid: number): ProcessId[] {
  const parentOf = new Map<number, number>();
  const startOf = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue;
    parentOf.set(Number(entry), stat.ppid);
    startOf.set(Number(entry), stat.startTime);
  }
  const found: ProcessId[] = [];
  let level = [pid];
  while (level.length > 0) {
    const next: number[] = [];
    for (const [child, parent] of parentOf) if (level.includes(parent)) next.push(child);
    for (const child of next) found.push({ pid: child, startTime: startOf.get(child) as string });
    level = next;
  }
  return found;
}
