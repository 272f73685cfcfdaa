// The independent verification script in docs/audit.md must keep working: it is run here, as an
// auditor would run it, against a real trail and against tampered copies.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { buildTrail, checkpointsPath, keyDirOf, readLinesOf, rechain, trailPath, writeLinesOf } from './fixtures.js';

let dir = '';
let cleanup = (): void => undefined;
let script = '';
let pristine = '';

beforeAll(() => {
  ({ dir, cleanup } = makeTempDir('handoff-audit-docs-'));
  const markdown = fs.readFileSync(path.join(repoRoot, 'docs', 'audit.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(markdown);
  if (block?.[1] === undefined) throw new Error('docs/audit.md has no js block');
  script = path.join(dir, 'verify-audit.mjs');
  fs.writeFileSync(script, block[1]);
  buildTrail(dir, 9, [3, 9]);
  pristine = fs.readFileSync(trailPath(dir), 'utf8');
});
afterAll(() => cleanup());

function runScript(keyFile?: string): { code: number | null; stdout: string } {
  const args = [script, path.join(dir, 'audit'), ...(keyFile === undefined ? [] : [keyFile])];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout };
}

describe('the verification script in docs/audit.md', () => {
  it('accepts a trail written by handoff and prints its head', () => {
    fs.writeFileSync(trailPath(dir), pristine);
    const result = runScript();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: 9 records, head [0-9a-f]{64}\n$/);
  });

  it.each([
    [
      'a modified record',
      (lines: string[]) => lines.map((line, i) => (i === 4 ? line.replace('"alice"', '"alicf"') : line)),
      /record 5: hash mismatch/,
    ],
    ['a removed record', (lines: string[]) => lines.filter((_, i) => i !== 2), /record 3: seq is 4/],
    ['a cut tail', (lines: string[]) => lines.slice(0, 7), /checkpoint 3: trail cut before record 9/],
    [
      'history re-hashed without the key',
      (lines: string[]) =>
        rechain(lines.map((line, i) => (i === 5 ? line.replace('stage-done', 'stage-undone') : line))),
      /checkpoint 3: records up to 9 rewritten/,
    ],
  ])('rejects %s', (_name, tamper, reason) => {
    writeLinesOf(trailPath(dir), tamper(pristine.split('\n').slice(0, -1)));
    const result = runScript();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(reason);
    fs.writeFileSync(trailPath(dir), pristine);
  });

  it('rejects a tampered checkpoint signature', () => {
    const original = fs.readFileSync(checkpointsPath(dir), 'utf8');
    const lines = readLinesOf(checkpointsPath(dir));
    lines[0] = lines[0]!.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === 'A' ? 'B' : 'A'}`);
    writeLinesOf(checkpointsPath(dir), lines);
    const result = runScript();
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/checkpoint 1: bad signature/);
    fs.writeFileSync(checkpointsPath(dir), original);
  });

  it('rejects emptied checkpoints, and checkpoints signed by another key than the pinned one', () => {
    const original = fs.readFileSync(checkpointsPath(dir), 'utf8');
    fs.writeFileSync(checkpointsPath(dir), '');
    expect(runScript()).toMatchObject({ code: 1, stdout: expect.stringMatching(/no checkpoints: they were deleted/) });
    fs.writeFileSync(checkpointsPath(dir), original);
    expect(runScript(path.join(keyDirOf(dir), 'signing-key.pub.pem')).code).toBe(0);
    const other = path.join(dir, 'other.pub.pem');
    fs.writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    expect(runScript(other)).toMatchObject({ code: 1, stdout: expect.stringMatching(/checkpoint 1: bad signature/) });
  });
});
