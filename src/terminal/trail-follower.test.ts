import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTrailFollower } from './trail-follower.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function record(runId: string, seq: number, action: string): string {
  return `${JSON.stringify({ action, actor: 'engine', details: { n: seq }, runId, seq, subject: 's', time: new Date(seq * 1000).toISOString() })}\n`;
}

describe('the trail follower', () => {
  it('returns the records of one run appended since the last read, and leaves a half-written line for later', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-follow-'));
    dirs.push(dir);
    const follower = createTrailFollower(dir);
    expect(follower.read('r1')).toEqual([]); // no trail yet
    fs.mkdirSync(path.join(dir, 'audit'));
    const file = path.join(dir, 'audit', 'trail.jsonl');
    fs.writeFileSync(file, record('r1', 1, 'stage-started') + record('r2', 2, 'stage-started'));
    const second = record('r1', 3, 'stage-done');
    fs.appendFileSync(file, second.slice(0, 20));
    expect(follower.read('r1').map((e) => [e.type, e.data.n])).toEqual([['stage-started', 1]]);
    expect(follower.read('r1')).toEqual([]);
    fs.appendFileSync(file, second.slice(20));
    expect(follower.read('r1')).toEqual([
      { time: new Date(3000).toISOString(), type: 'stage-done', subject: 's', data: { n: 3 } },
    ]);
  });
});
