/**
 * Every child process handoff starts (services, PostgreSQL servers, the router) is recorded in a
 * registry file in the state directory with its PID and command line, and ended when handoff
 * exits, including on SIGINT and SIGTERM. A later handoff finds what a SIGKILLed one left behind
 * (owner PID dead) and ends it, checking the command line first so a recycled PID is never hit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep } from './net.js';

export interface ChildRecord {
  pid: number;
  name: string;
  /** /proc/PID/cmdline at the time it was tracked (NUL-separated arguments joined by spaces). */
  cmdline: string;
  /** The handoff process that owns it. */
  owner: number;
  startedAt: string;
  port?: number;
  /** Signal that asks it to stop cleanly (PostgreSQL: SIGINT, fast shutdown). */
  stopSignal: NodeJS.Signals;
}

export interface ProcessRegistry {
  readonly file: string;
  track(pid: number, info: { name: string; port?: number; stopSignal?: NodeJS.Signals }): void;
  untrack(pid: number): void;
  records(): ChildRecord[];
  /** Ends every tracked child of this owner: stop signal, then SIGKILL after the grace period. */
  stopAll(graceMs?: number): Promise<void>;
}

function readCmdline(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Sets a child's CPU priority, its nice value (-20 to 19, lower runs first), as soon as it runs: on
 * its main thread, whose later threads inherit it. Raising a process above the default priority
 * needs root or CAP_SYS_NICE; where that is refused the child keeps the priority it has. Returns
 * null when set, else why not (for the caller's warning).
 */
export function setChildPriority(pid: number, priority: number): string | null {
  try {
    os.setPriority(pid, priority);
    return null;
  } catch (error) {
    // A SystemError: `code` is ERR_SYSTEM_ERROR, the errno's name is in `info.code`.
    const info = (error as { info?: { code?: unknown } }).info;
    const code = typeof info?.code === 'string' ? info.code : (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      return `not permitted (a priority above the default needs root or CAP_SYS_NICE)`;
    return code === 'ESRCH' ? 'the process is gone' : error instanceof Error ? error.message : String(error);
  }
}

function readRecords(file: string): ChildRecord[] {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Array.isArray(parsed) ? (parsed as ChildRecord[]).filter((r) => Number.isInteger(r?.pid)) : [];
  } catch {
    return [];
  }
}

function writeRecords(file: string, records: ChildRecord[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(records, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Whether the recorded process is still the one we started (same PID and command line). */
function stillOurs(record: ChildRecord): boolean {
  const now = readCmdline(record.pid);
  return now !== null && now === record.cmdline;
}

async function stopOne(record: ChildRecord, graceMs: number): Promise<void> {
  if (!stillOurs(record)) return;
  try {
    process.kill(record.pid, record.stopSignal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(record.pid) || !stillOurs(record)) return;
    await sleep(50);
  }
  if (stillOurs(record)) {
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export function openProcessRegistry(file: string): ProcessRegistry {
  const registry: ProcessRegistry = {
    file,
    track(pid, info) {
      const cmdline = readCmdline(pid) ?? '';
      const records = readRecords(file).filter((r) => r.pid !== pid);
      records.push({
        pid,
        name: info.name,
        cmdline,
        owner: process.pid,
        startedAt: new Date().toISOString(),
        ...(info.port === undefined ? {} : { port: info.port }),
        stopSignal: info.stopSignal ?? 'SIGTERM',
      });
      writeRecords(file, records);
    },
    untrack(pid) {
      writeRecords(
        file,
        readRecords(file).filter((r) => r.pid !== pid),
      );
    },
    records: () => readRecords(file),
    async stopAll(graceMs = 10_000) {
      // A child tracked while this runs (a signal that lands while a server starts up) is stopped in
      // the next round; one tracked after the last round stays recorded, for the exit handler to end.
      const stopped = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const mine = readRecords(file).filter((r) => r.owner === process.pid && !stopped.has(r.pid));
        if (mine.length === 0) break;
        await Promise.all(mine.map((r) => stopOne(r, graceMs)));
        for (const r of mine) stopped.add(r.pid);
      }
      writeRecords(
        file,
        readRecords(file).filter((r) => !stopped.has(r.pid)),
      );
    },
  };
  return registry;
}

/**
 * Ends what a dead handoff left running: records whose owner is gone and whose process is still
 * the one recorded. Returns what it ended. Records of a live owner are left alone.
 */
export async function reapOrphans(file: string, graceMs = 10_000): Promise<ChildRecord[]> {
  const records = readRecords(file);
  const orphans = records.filter((r) => r.owner !== process.pid && !isAlive(r.owner));
  const ended: ChildRecord[] = [];
  await Promise.all(
    orphans.map(async (r) => {
      if (stillOurs(r)) {
        await stopOne(r, graceMs);
        ended.push(r);
      }
    }),
  );
  if (orphans.length > 0) {
    const gone = new Set(orphans.map((r) => r.pid));
    writeRecords(
      file,
      readRecords(file).filter((r) => !gone.has(r.pid)),
    );
  }
  return ended;
}

/**
 * Ends every tracked child when this process is asked to stop (SIGINT, SIGTERM) and, best effort,
 * when it exits. Returns a function that removes the handlers.
 */
export function stopChildrenOnExit(registry: ProcessRegistry, onSignal?: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    onSignal?.(signal);
    void registry.stopAll(5000).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const onExit = (): void => {
    // Synchronous last resort: signal whatever is still ours.
    for (const r of registry.records().filter((x) => x.owner === process.pid)) {
      if (stillOurs(r)) {
        try {
          process.kill(r.pid, r.stopSignal);
        } catch {
          /* gone */
        }
      }
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.off('exit', onExit);
  };
}
