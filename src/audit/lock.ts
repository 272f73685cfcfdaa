/**
 * An exclusive lock file shared by every process that appends to one audit trail (the engine,
 * `handoff approve` in another process, a router). Synchronous, because appends are.
 *
 * - Acquire: the owner's identity is written to a unique temporary file that is then hard-linked
 *   to the lock path; link(2) fails if the lock exists, so a lock file is never seen half-written.
 * - Bounded wait: retries with a short, jittered sleep until `timeoutMs`, then a TimeoutError that
 *   names the holder and the file to remove if it is really abandoned.
 * - Stale-lock recovery: a lock whose owner (same host) is no longer alive, or whose PID now
 *   belongs to a process started at another time (PID reuse), is removed. Breakers serialise on a
 *   second lock and re-read the lock before removing it, so a fresh lock is never removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InternalError, TimeoutError } from '../common/errors.js';

export interface FileLockOptions {
  /** How long to wait for the lock before giving up. Default 10 s. */
  timeoutMs?: number;
}

export interface FileLock {
  release(): void;
}

const ownerSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  start: z.string().nullable(),
  since: z.string(),
  token: z.string(),
});
type Owner = z.infer<typeof ownerSchema>;

/** A break lock older than this was left by a process that died while breaking a stale lock. */
const BREAK_LOCK_STALE_MS = 10_000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The start time of a process in clock ticks since boot (Linux), to tell a reused PID apart. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(lockPath: string): { text: string; owner: Owner | null } | null {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { text, owner: null };
  }
  const result = ownerSchema.safeParse(parsed);
  return { text, owner: result.success ? result.data : null };
}

/**
 * Whether the lock's owner is certainly gone (`stale`), still there (`held`), or this very process
 * (`self`: a re-entrant acquire, a bug). Locks of other hosts are never judged stale.
 */
function holderState(owner: Owner): 'stale' | 'held' | 'self' {
  if (owner.host !== ownProcess().host) return 'held';
  const start = processStart(owner.pid);
  const reused = owner.start !== null && start !== null && start !== owner.start;
  if (owner.pid === process.pid) return reused ? 'stale' : 'self';
  if (!isAlive(owner.pid)) return 'stale';
  return reused ? 'stale' : 'held';
}

function tryLink(tempPath: string, target: string): boolean {
  try {
    fs.linkSync(tempPath, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Removes the lock if it still holds exactly `staleText`; serialised with other breakers. */
function breakStale(lockPath: string, staleText: string, tempPath: string): void {
  const breakPath = `${lockPath}.break`;
  if (!tryLink(tempPath, breakPath)) {
    try {
      const age = Date.now() - fs.statSync(breakPath).mtimeMs;
      if (age > BREAK_LOCK_STALE_MS) unlinkQuietly(breakPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return;
  }
  try {
    const current = readOwner(lockPath);
    if (current !== null && current.text === staleText) unlinkQuietly(lockPath);
  } finally {
    unlinkQuietly(breakPath);
  }
}

/**
 * Fairness: a process that had to wait announces itself in `<lock>.want`; any other process about
 * to take the lock (typically the one that just released it and appends again) first gives way to
 * it for up to YIELD_MS. Without this a busy appender could starve another process until timeout.
 */
const YIELD_MS = 200;
const WANT_MAX_AGE_MS = 120_000;

function readWant(wantPath: string): Owner | null {
  // Nobody waits, almost always: a look without the cost of a failed read's thrown error (a note
  // written right after the look is seen at the next acquire, as it would be after a failed read).
  if (!fs.existsSync(wantPath)) return null;
  const want = readOwner(wantPath);
  return want?.owner ?? null;
}

function announceWant(wantPath: string, owner: Owner): void {
  const temp = `${wantPath}.${owner.pid}.${owner.token}`;
  fs.writeFileSync(temp, JSON.stringify(owner), { mode: 0o600 });
  fs.renameSync(temp, wantPath);
}

function yieldToWaiter(wantPath: string, token: string, until: number): void {
  while (Date.now() < until) {
    const want = readWant(wantPath);
    if (want === null || want.token === token) return;
    // A waiter that is gone, or a note older than any sane wait, must not slow every append down.
    const age = Date.now() - Date.parse(want.since);
    if (holderState(want) !== 'held' || !(age < WANT_MAX_AGE_MS)) {
      unlinkQuietly(wantPath);
      return;
    }
    sleepSync(1);
  }
}

/**
 * This process's own start time and host name, read once, and a token unique to each acquisition:
 * random per process, then counted (every append takes the lock, and reading /proc, the host name
 * and fresh random bytes each time cost more than the rest of the lock's own work).
 */
let own: { pid: number; start: string | null; host: string; prefix: string; next: number } | null = null;
function ownProcess(): { start: string | null; host: string; token(): string } {
  if (own?.pid !== process.pid)
    own = {
      pid: process.pid,
      start: processStart(process.pid),
      host: os.hostname(),
      prefix: randomBytes(6).toString('hex'),
      next: 0,
    };
  const self = own;
  return { start: self.start, host: self.host, token: () => `${self.prefix}${(self.next++).toString(16)}` };
}

export function acquireFileLock(lockPath: string, options: FileLockOptions = {}): FileLock {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const self = ownProcess();
  const owner: Owner = {
    pid: process.pid,
    host: self.host,
    start: self.start,
    since: new Date().toISOString(),
    token: self.token(),
  };
  const tempPath = `${lockPath}.${process.pid}.${owner.token}`;
  fs.writeFileSync(tempPath, JSON.stringify(owner), { mode: 0o600 });
  const wantPath = `${lockPath}.want`;
  const yieldUntil = Date.now() + YIELD_MS;
  let delay = 1;
  let lastHolder: Owner | null = null;
  try {
    for (;;) {
      yieldToWaiter(wantPath, owner.token, yieldUntil);
      if (tryLink(tempPath, lockPath)) break;
      if (readWant(wantPath) === null) announceWant(wantPath, owner);
      const current = readOwner(lockPath);
      if (current === null) continue; // released between our attempt and the read
      lastHolder = current.owner;
      const state = current.owner === null ? 'held' : holderState(current.owner);
      if (state === 'self') {
        throw new InternalError(`the audit trail lock ${lockPath} is already held by this process (re-entrant append)`);
      }
      if (state === 'stale') {
        breakStale(lockPath, current.text, tempPath);
        continue;
      }
      if (Date.now() >= deadline) {
        const holder =
          lastHolder === null
            ? 'an unknown process'
            : `process ${lastHolder.pid} on ${lastHolder.host} since ${lastHolder.since}`;
        throw new TimeoutError(
          `the audit trail lock ${lockPath} is held by ${holder}; waited ${timeoutMs} ms. ` +
            'If that process is gone (for example on another host), remove the lock file.',
        );
      }
      sleepSync(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 4);
    }
  } finally {
    unlinkQuietly(tempPath);
    if (readWant(wantPath)?.token === owner.token) unlinkQuietly(wantPath);
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const current = readOwner(lockPath);
      // Remove only our own lock: if it was broken as stale and taken by another, leave theirs.
      if (current !== null && current.owner !== null && current.owner.token === owner.token) {
        unlinkQuietly(lockPath);
      }
    },
  };
}
