import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InternalError, TimeoutError } from '../common/errors.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { acquireFileLock, processStart } from './lock.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function lockPath(): string {
  const temp = makeTempDir('handoff-lock-');
  cleanups.push(temp.cleanup);
  return path.join(temp.dir, 'trail.lock');
}

/** The PID of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function writeLock(file: string, owner: Record<string, unknown>): void {
  fs.writeFileSync(file, JSON.stringify({ since: '2026-01-01T00:00:00.000Z', token: 'other', start: null, ...owner }));
}

describe('acquireFileLock', () => {
  it('takes a free lock, records its owner, and removes the lock on release', () => {
    const file = lockPath();
    const lock = acquireFileLock(file);
    const owner = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; host: string };
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(os.hostname());
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it('breaks the lock of a process that is gone', () => {
    const file = lockPath();
    writeLock(file, { pid: deadPid(), host: os.hostname() });
    const lock = acquireFileLock(file, { timeoutMs: 5_000 });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid });
    lock.release();
  });

  it('breaks a lock whose PID now belongs to another process (PID reuse)', () => {
    const file = lockPath();
    // PID 1 is alive, but it did not start at this (impossible) tick.
    writeLock(file, { pid: 1, host: os.hostname(), start: '-1' });
    expect(processStart(1)).toMatch(/^\d+$/);
    acquireFileLock(file, { timeoutMs: 2_000 }).release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('does not break a live lock: waits its bound, then names the holder', () => {
    const file = lockPath();
    writeLock(file, { pid: 1, host: os.hostname() });
    const started = Date.now();
    expect(() => acquireFileLock(file, { timeoutMs: 200 })).toThrow(/held by process 1 on .*waited 200 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ pid: 1 });
  });

  it('never judges a lock of another host stale, even with a dead PID', () => {
    const file = lockPath();
    writeLock(file, { pid: deadPid(), host: `not-${os.hostname()}` });
    expect(() => acquireFileLock(file, { timeoutMs: 100 })).toThrow(TimeoutError);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('refuses a re-entrant acquire in the same process instead of waiting for itself', () => {
    const file = lockPath();
    const lock = acquireFileLock(file);
    expect(() => acquireFileLock(file, { timeoutMs: 5_000 })).toThrow(InternalError);
    lock.release();
  });

  it('release leaves alone a lock that another process took over', () => {
    const file = lockPath();
    const lock = acquireFileLock(file);
    writeLock(file, { pid: 1, host: os.hostname(), token: 'theirs' });
    lock.release();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ token: 'theirs' });
  });

  it('gives way to an announced waiter for a bounded time only', () => {
    const file = lockPath();
    fs.writeFileSync(
      `${file}.want`,
      JSON.stringify({ pid: 1, host: os.hostname(), start: null, since: new Date().toISOString(), token: 'waiter' }),
    );
    const started = Date.now();
    acquireFileLock(file).release();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(5_000);
    expect(fs.existsSync(`${file}.want`)).toBe(true);
  });

  it('ignores and removes the note of a waiter that is gone or too old', () => {
    const file = lockPath();
    for (const note of [
      { pid: deadPid(), since: new Date().toISOString() },
      { pid: 1, since: new Date(Date.now() - 10 * 60_000).toISOString() },
    ]) {
      fs.writeFileSync(`${file}.want`, JSON.stringify({ host: os.hostname(), start: null, token: 'gone', ...note }));
      acquireFileLock(file).release();
      expect(fs.existsSync(`${file}.want`)).toBe(false);
    }
  });
});
