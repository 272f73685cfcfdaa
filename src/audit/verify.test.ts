import fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import {
  buildTrail,
  checkpointsPath,
  forgeRecord,
  parseRecord,
  readLinesOf,
  rechain,
  trailPath,
  writeLinesOf,
} from '../../test/audit/fixtures.js';
import { verifyAuditTrail } from './verify.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

const RECORDS = 12;
let dir = '';
let cleanup = (): void => undefined;
let pristineTrail = Buffer.alloc(0);
let pristineCheckpoints = Buffer.alloc(0);

beforeAll(() => {
  ({ dir, cleanup } = makeTempDir('handoff-audit-verify-'));
  buildTrail(dir, RECORDS, [4, RECORDS]);
  pristineTrail = fs.readFileSync(trailPath(dir));
  pristineCheckpoints = fs.readFileSync(checkpointsPath(dir));
});
afterAll(() => cleanup());
beforeEach(() => restore());

function restore(): void {
  fs.writeFileSync(trailPath(dir), pristineTrail);
  fs.writeFileSync(checkpointsPath(dir), pristineCheckpoints);
}

function lineOfByte(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let index = 0; index < offset; index++) if (bytes[index] === 0x0a) line++;
  return line;
}

describe('verifyAuditTrail', () => {
  it('accepts the untouched trail and reports its head', () => {
    restore();
    const result = verifyAuditTrail(dir);
    const last = parseRecord(readLinesOf(trailPath(dir))[RECORDS - 1]!);
    expect(result).toMatchObject({ valid: true, records: RECORDS, firstBadSeq: null, reason: null, checkpoints: 3 });
    expect(result.head).toEqual({ seq: RECORDS, hash: last.hash });
    expect(result.publicKeyFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('detects every one of 1,000 random single-bit flips in the trail and names the line', () => {
    const next = random(1);
    for (let round = 0; round < 1_000; round++) {
      const bytes = Buffer.from(pristineTrail);
      const offset = next(bytes.length);
      bytes[offset] = bytes[offset]! ^ (1 << next(8));
      fs.writeFileSync(trailPath(dir), bytes);
      const result = verifyAuditTrail(dir);
      const where = `round ${round}: bit flip at byte ${offset}`;
      expect(result.valid, where).toBe(false);
      expect(result.firstBadSeq, `${where}: ${result.reason}`).toBe(lineOfByte(pristineTrail, offset));
      expect(result.reason, where).toMatch(new RegExp(`^record ${result.firstBadSeq}`));
    }
    restore();
  });

  it('detects every one of 400 random single-bit flips in the checkpoints', () => {
    const next = random(2);
    for (let round = 0; round < 400; round++) {
      const bytes = Buffer.from(pristineCheckpoints);
      const offset = next(bytes.length);
      bytes[offset] = bytes[offset]! ^ (1 << next(8));
      fs.writeFileSync(checkpointsPath(dir), bytes);
      const result = verifyAuditTrail(dir);
      expect(result.valid, `round ${round}: flip at byte ${offset}`).toBe(false);
      expect(result.reason).toMatch(/checkpoint/);
    }
    restore();
  });

  it('detects every removal, swap, insertion and tail cut, naming the first place that is wrong', () => {
    const pristine = pristineTrail.toString('utf8').split('\n').slice(0, -1);
    const cases: Array<{ name: string; lines: string[]; firstBadSeq: number }> = [];
    for (let index = 0; index < RECORDS; index++) {
      const removed = pristine.filter((_, at) => at !== index);
      cases.push({ name: `remove record ${index + 1}`, lines: removed, firstBadSeq: index + 1 });
      const previous = index === 0 ? '0'.repeat(64) : parseRecord(pristine[index - 1]!).hash;
      const forged = forgeRecord({
        seq: index + 1,
        time: '2026-01-02T03:04:05.000Z',
        runId: 'run-1',
        actor: 'mallory',
        action: 'approval-recorded',
        subject: 'cutover',
        details: {},
        prevHash: previous,
      });
      cases.push({
        name: `insert before record ${index + 1}`,
        lines: [...pristine.slice(0, index), forged, ...pristine.slice(index)],
        firstBadSeq: index + 1,
      });
      for (let other = index + 1; other < RECORDS; other++) {
        const swapped = [...pristine];
        [swapped[index], swapped[other]] = [swapped[other]!, swapped[index]!];
        cases.push({ name: `swap ${index + 1} and ${other + 1}`, lines: swapped, firstBadSeq: index + 1 });
      }
      cases.push({ name: `cut from record ${index + 1}`, lines: pristine.slice(0, index), firstBadSeq: index + 1 });
    }
    for (const tamper of cases) {
      restore();
      writeLinesOf(trailPath(dir), tamper.lines);
      const result = verifyAuditTrail(dir);
      expect(result.valid, tamper.name).toBe(false);
      expect(result.firstBadSeq, `${tamper.name}: ${result.reason}`).toBe(tamper.firstBadSeq);
    }
    expect(cases.length).toBeGreaterThan(100);
    restore();
  });

  it('detects history rewritten and re-hashed by someone without the key, between the checkpoints', () => {
    const pristine = pristineTrail.toString('utf8').split('\n').slice(0, -1);
    for (let index = 0; index < RECORDS; index++) {
      restore();
      const changed = [...pristine];
      changed[index] = changed[index]!.replace('"stage-done"', '"stage-undone"');
      writeLinesOf(trailPath(dir), rechain(changed));
      const result = verifyAuditTrail(dir);
      expect(result.valid, `rewrite of record ${index + 1}`).toBe(false);
      // The first checkpoint covers 1..4, the second 5..12: the reported range starts where the
      // last checkpoint that still holds ends.
      expect(result.firstBadSeq, `rewrite of record ${index + 1}: ${result.reason}`).toBe(index < 4 ? 1 : 5);
    }
    restore();
  });

  it('refuses a trail whose lines were re-serialised (whitespace, key order), though the content is the same', () => {
    restore();
    const lines = readLinesOf(trailPath(dir));
    lines[2] = JSON.stringify(JSON.parse(lines[2]!), null, 0).replace('{"', '{ "');
    writeLinesOf(trailPath(dir), lines);
    const result = verifyAuditTrail(dir);
    expect(result).toMatchObject({ valid: false, firstBadSeq: 3 });
    expect(result.reason).toMatch(/canonical form/);
    restore();
  });

  it('reports a deleted trail file, a deleted public key, and a head the trail does not reach', () => {
    restore();
    const last = parseRecord(readLinesOf(trailPath(dir))[RECORDS - 1]!);
    expect(verifyAuditTrail(dir, { expectedHead: { seq: RECORDS, hash: last.hash } }).valid).toBe(true);
    const ahead = verifyAuditTrail(dir, { expectedHead: { seq: RECORDS + 2, hash: last.hash } });
    expect(ahead).toMatchObject({ valid: false, firstBadSeq: RECORDS + 1 });
    expect(ahead.reason).toMatch(/records 13\.\.14 were removed \(truncated\)/);
    const wrongHash = verifyAuditTrail(dir, { expectedHead: { seq: 3, hash: last.hash } });
    expect(wrongHash).toMatchObject({ valid: false, firstBadSeq: 3 });

    const publicKey = `${dir}/audit/signing-key.pub.pem`;
    const pem = fs.readFileSync(publicKey);
    fs.rmSync(publicKey);
    expect(verifyAuditTrail(dir).reason).toMatch(/cannot be checked: no public key/);
    fs.writeFileSync(publicKey, pem);

    fs.rmSync(trailPath(dir));
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: false, firstBadSeq: 1 });
    restore();
    expect(verifyAuditTrail(dir).valid).toBe(true);
  });

  it('throws a clear input error when there is no trail at all, unless the state store says there was one', () => {
    const empty = makeTempDir('handoff-audit-none-');
    try {
      expect(() => verifyAuditTrail(empty.dir)).toThrow(/no audit trail in/);
      expect(() => verifyAuditTrail(empty.dir, { expectedHead: { seq: 0, hash: '0'.repeat(64) } })).toThrow(
        /no audit trail in/,
      );
      const deleted = verifyAuditTrail(empty.dir, { expectedHead: { seq: 3, hash: 'a'.repeat(64) } });
      expect(deleted).toMatchObject({ valid: false, records: 0, firstBadSeq: 1 });
      expect(deleted.reason).toMatch(/trail\.jsonl is missing though the state store's audit head is record 3/);
    } finally {
      empty.cleanup();
    }
  });
});
