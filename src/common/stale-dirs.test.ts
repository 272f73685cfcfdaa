import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDirsOfGoneProcesses } from './stale-dirs.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('removeDirsOfGoneProcesses', () => {
  it('removes the prefix directories of processes that are gone, and no other', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-stale-test-'));
    made.push(tmp);
    // A pid that has just ended (its child exited and was reaped by spawnSync).
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const dirs = {
      gone: path.join(tmp, `x-creds-${gone}-abc`),
      alive: path.join(tmp, `x-creds-${process.pid}-abc`),
      other: path.join(tmp, `y-creds-${gone}-abc`),
      garbled: path.join(tmp, `x-creds-notapid-abc`),
    };
    for (const dir of Object.values(dirs)) fs.mkdirSync(path.join(dir, 'inner'), { recursive: true });
    expect(removeDirsOfGoneProcesses('x-creds-', tmp)).toBe(1);
    expect(fs.existsSync(dirs.gone)).toBe(false);
    expect(fs.existsSync(dirs.alive)).toBe(true);
    expect(fs.existsSync(dirs.other)).toBe(true);
    expect(fs.existsSync(dirs.garbled)).toBe(true);
  });
});
