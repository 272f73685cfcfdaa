import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { isAlive, openProcessRegistry, reapOrphans, setChildPriority } from './children.js';
import { sleep } from './net.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()?.();
});

function sleeper(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child.pid as number;
}

describe('process registry', () => {
  it('stops every tracked child of this owner', async () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.cleanup);
    const registry = openProcessRegistry(path.join(tmp.dir, 'processes.json'));
    const pids = [sleeper(), sleeper()];
    await sleep(100);
    for (const pid of pids) registry.track(pid, { name: 'sleeper' });
    expect(registry.records()).toHaveLength(2);
    await registry.stopAll(2000);
    await sleep(100);
    expect(pids.map(isAlive)).toEqual([false, false]);
    expect(registry.records()).toHaveLength(0);
  });

  it('stops a child tracked while it stops the others, and keeps no record of what it stopped', async () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.cleanup);
    const registry = openProcessRegistry(path.join(tmp.dir, 'processes.json'));
    // The first takes its time to stop (as a server's shutdown does); the second is tracked meanwhile,
    // as a server spawned while a signal's stop runs is.
    const slow = spawn(
      process.execPath,
      [
        '-e',
        "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 1000)); setInterval(() => {}, 1000); console.log('ready')",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    cleanups.push(() => slow.kill('SIGKILL'));
    const late = sleeper();
    // Its SIGTERM handler in place (a fixed wait was too short on a busy machine: the default action
    // ended it at once, the stop was over before the second child was tracked, and that one lived on).
    await new Promise<void>((resolve, reject) => {
      const bound = setTimeout(() => reject(new Error('the slow child never started')), 20_000);
      slow.stdout.once('data', () => {
        clearTimeout(bound);
        resolve();
      });
    });
    registry.track(slow.pid as number, { name: 'slow' });
    const stopping = registry.stopAll(5000);
    await sleep(50);
    registry.track(late, { name: 'late' });
    await stopping;
    await sleep(100);
    expect([isAlive(slow.pid as number), isAlive(late)]).toEqual([false, false]);
    expect(registry.records()).toEqual([]);
  });

  it('reaps what a dead owner left, but never a recycled PID with another command line', async () => {
    const tmp = makeTempDir();
    cleanups.push(tmp.cleanup);
    const file = path.join(tmp.dir, 'processes.json');
    const orphan = sleeper();
    const stranger = sleeper();
    await sleep(100);
    const registry = openProcessRegistry(file);
    registry.track(orphan, { name: 'left-behind' });
    registry.track(stranger, { name: 'recycled' });
    // Pretend a SIGKILLed handoff (a PID that no longer exists) owned them; the second record's
    // command line no longer matches (its PID was "recycled" by another program).
    const fs = await import('node:fs');
    const records = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ owner: number; cmdline: string; pid: number }>;
    for (const r of records) {
      r.owner = 2 ** 22 + 12345;
      if (r.pid === stranger) r.cmdline = 'something else entirely';
    }
    fs.writeFileSync(file, JSON.stringify(records));
    const ended = await reapOrphans(file, 2000);
    await sleep(100);
    expect(ended.map((r) => r.pid)).toEqual([orphan]);
    expect(isAlive(orphan)).toBe(false);
    expect(isAlive(stranger)).toBe(true);
  });
});

describe('setChildPriority', () => {
  it("sets a child's nice value, and says why when it cannot", async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pid = child.pid as number;
    const lower = Math.min(19, os.getPriority() + 5);
    expect(setChildPriority(pid, lower)).toBeNull();
    expect(os.getPriority(pid)).toBe(lower);
    expect(os.getPriority()).not.toBe(lower);
    child.kill('SIGKILL');
    await exited; // reaped: the PID names nothing now
    expect(setChildPriority(pid, lower)).toBe('the process is gone');
  });
});
