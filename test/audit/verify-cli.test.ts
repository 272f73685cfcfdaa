import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import {
  buildTrail,
  checkpointsPath,
  forgeRecord,
  parseRecord,
  readLinesOf,
  rechain,
  trailPath,
  writeLinesOf,
} from './fixtures.js';

const verdictSchema = z.strictObject({
  valid: z.boolean(),
  records: z.number(),
  firstBadSeq: z.number().nullable(),
  reason: z.string().nullable(),
  keyPinned: z.boolean(),
  publicKeyFingerprint: z.string().nullable(),
  signedThrough: z.number(),
  externalCheckpoints: z.number().nullable(),
  warning: z.string().nullable(),
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function stateDir(): string {
  const temp = makeTempDir('handoff-audit-cli-');
  cleanups.push(temp.cleanup);
  return temp.dir;
}

async function verify(dir: string, extra: string[] = []) {
  const result = await runCli(['audit', 'verify', '--state-dir', dir, '-o', 'json', ...extra]);
  const verdict = result.code === 2 ? null : verdictSchema.parse(JSON.parse(result.stdout));
  return { ...result, verdict };
}

/** Runs the text form too, so the human message is checked to name the same place. */
async function verifyText(dir: string) {
  return runCli(['audit', 'verify', '--state-dir', dir]);
}

describe('handoff audit verify', () => {
  it('exits 0 on an untouched trail and prints exactly one JSON document', async () => {
    const dir = stateDir();
    buildTrail(dir, 12, [6, 12]);
    const result = await verify(dir);
    expect(result.code).toBe(0);
    expect(result.verdict).toMatchObject({
      valid: true,
      records: 12,
      firstBadSeq: null,
      reason: null,
      keyPinned: false,
      signedThrough: 12,
    });
    expect(result.verdict?.warning).toMatch(/not pinned/);
    const text = await verifyText(dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/audit trail valid: 12 records, 3 signed checkpoints/);
  });

  it('exits 1 naming the record when a byte inside it is flipped', async () => {
    const dir = stateDir();
    buildTrail(dir, 8, [8]);
    const file = trailPath(dir);
    const bytes = fs.readFileSync(file);
    const lines = readLinesOf(file);
    const offset = lines.slice(0, 4).join('\n').length + 1 + lines[4]!.indexOf('record number') + 7;
    bytes[offset] = bytes[offset]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ valid: false, firstBadSeq: 5 });
    expect(result.verdict?.reason).toMatch(/^record 5 \(line 5\): hash does not match its content \(modified\)/);
    const text = await verifyText(dir);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('record 5');
  });

  it('exits 1 naming the place when a record is deleted', async () => {
    const dir = stateDir();
    buildTrail(dir, 8, [8]);
    const lines = readLinesOf(trailPath(dir));
    lines.splice(3, 1);
    writeLinesOf(trailPath(dir), lines);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ valid: false, records: 7, firstBadSeq: 4 });
    expect(result.verdict?.reason).toMatch(/found record 5 where record 4 should be/);
  });

  it('exits 1 naming the place when two records are swapped', async () => {
    const dir = stateDir();
    buildTrail(dir, 8);
    const lines = readLinesOf(trailPath(dir));
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    writeLinesOf(trailPath(dir), lines);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ firstBadSeq: 3 });
    expect(result.verdict?.reason).toMatch(
      /record 3 \(line 3\): found record 4 where record 3 should be \(records removed or reordered\)/,
    );
  });

  it('exits 1 naming the place when a record with a correct hash of its own is inserted', async () => {
    const dir = stateDir();
    buildTrail(dir, 8);
    const lines = readLinesOf(trailPath(dir));
    const fourth = parseRecord(lines[3]!);
    const forged = forgeRecord({
      seq: 5,
      time: fourth.time,
      runId: fourth.runId,
      actor: 'mallory',
      action: 'approval-recorded',
      subject: 'cutover',
      details: { role: 'db-owner' },
      prevHash: fourth.hash,
    });
    lines.splice(4, 0, forged);
    writeLinesOf(trailPath(dir), lines);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ records: 9, firstBadSeq: 5 });
    expect(result.verdict?.reason).toMatch(/record 5 appears again at line 6 after line 5 \(a record was inserted/);
  });

  it('exits 1 when the tail after a checkpoint is cut off', async () => {
    const dir = stateDir();
    buildTrail(dir, 10, [5, 10]);
    writeLinesOf(trailPath(dir), readLinesOf(trailPath(dir)).slice(0, 7));
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ records: 7, firstBadSeq: 8 });
    expect(result.verdict?.reason).toMatch(
      /checkpoint 3 .*ends at record 7: records 8\.\.10 were removed \(truncated\)/,
    );
  });

  it("exits 1 when the trail ends before the state store's head, though no checkpoint covers the cut", async () => {
    const dir = stateDir();
    buildTrail(dir, 6, [2]);
    const last = parseRecord(readLinesOf(trailPath(dir))[5]!);
    const db = new Database(path.join(dir, 'state.db'));
    db.exec(
      'CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)').run(last.seq, last.hash);
    db.close();
    expect((await verify(dir)).code).toBe(0);
    writeLinesOf(trailPath(dir), readLinesOf(trailPath(dir)).slice(0, 4));
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ records: 4, firstBadSeq: 5 });
    expect(result.verdict?.reason).toMatch(
      /state store's audit head is record 6 .* records 5\.\.6 were removed \(truncated\)/,
    );
  });

  it('exits 1 on a partial last line', async () => {
    const dir = stateDir();
    buildTrail(dir, 5, [4]);
    const file = trailPath(dir);
    fs.truncateSync(file, fs.statSync(file).size - 40);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ records: 4, firstBadSeq: 5 });
    expect(result.verdict?.reason).toMatch(/^record 5: partial last line, \d+ bytes without a newline at line 5/);
  });

  it('exits 1 naming the checkpoint when its signature is tampered with', async () => {
    const dir = stateDir();
    buildTrail(dir, 6, [3, 6]);
    const lines = readLinesOf(checkpointsPath(dir));
    lines[2] = lines[2]!.replace(
      /"signature":"(.)/,
      (_match, first: string) => `"signature":"${first === 'A' ? 'B' : 'A'}`,
    );
    writeLinesOf(checkpointsPath(dir), lines);
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ valid: false, records: 6, firstBadSeq: null });
    expect(result.verdict?.reason).toMatch(/^checkpoint 3 \(line 3 of checkpoints\.jsonl\): signature does not verify/);
  });

  it('exits 1 when history is rewritten and re-hashed without the signing key', async () => {
    const dir = stateDir();
    buildTrail(dir, 10, [4, 10]);
    const lines = readLinesOf(trailPath(dir));
    lines[6] = lines[6]!.replace('"actor":"alice"', '"actor":"bob"'); // change record 7, then re-link everything
    writeLinesOf(trailPath(dir), rechain(lines));
    const result = await verify(dir);
    expect(result.code).toBe(1);
    expect(result.verdict).toMatchObject({ records: 10, firstBadSeq: 5 });
    expect(result.verdict?.reason).toMatch(
      /checkpoint 3 .*record 10's hash is not the head hash signed at .*: records 5\.\.10 were rewritten after it was signed/,
    );
  });

  it('exits 1 when the key pair beside the trail was replaced and the original public key is pinned', async () => {
    const dir = stateDir();
    buildTrail(dir, 3, [3]);
    const original = path.join(dir, 'original.pub.pem');
    fs.copyFileSync(path.join(dir, 'audit', 'signing-key.pub.pem'), original);
    const other = generateKeyPairSync('ed25519');
    const pem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const pinned = path.join(dir, 'other.pub.pem');
    fs.writeFileSync(pinned, pem);
    expect((await verify(dir, ['--public-key', original])).code).toBe(0);
    const result = await verify(dir, ['--public-key', pinned]);
    expect(result.code).toBe(1);
    expect(result.verdict?.reason).toMatch(
      /the public key beside the trail \(sha256:[0-9a-f]{64}\) is not the pinned key/,
    );
  });

  it('exits 2 with a clear message when there is no trail or a flag is wrong, and changes nothing', async () => {
    const empty = stateDir();
    const none = await runCli(['audit', 'verify', '--state-dir', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no audit trail in .*audit/);
    expect(none.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(empty)).toEqual([]);
    const missingDir = await runCli(['audit', 'verify', '--state-dir', path.join(empty, 'nope')]);
    expect(missingDir.code).toBe(2);
    expect(missingDir.stderr).toMatch(/does not exist/);
    const dir = stateDir();
    buildTrail(dir, 2);
    const badKey = await runCli([
      'audit',
      'verify',
      '--state-dir',
      dir,
      '--public-key',
      path.join(dir, 'audit', 'trail.jsonl'),
    ]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/not a PEM public key/);
    const badOutput = await runCli(['audit', 'verify', '--state-dir', dir, '-o', 'yaml']);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stdout).toBe('');
  });

  it('reads the state directory from HANDOFF_STATE_DIR', async () => {
    const dir = stateDir();
    buildTrail(dir, 2);
    const result = await runCli(['audit', 'verify', '-o', 'json'], { env: { HANDOFF_STATE_DIR: dir } });
    expect(result.code).toBe(0);
    expect(verdictSchema.parse(JSON.parse(result.stdout)).records).toBe(2);
  });
});
