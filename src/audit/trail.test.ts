import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { GENESIS_HASH, hashRecord, auditRecordSchema } from './format.js';
import { resolveKeyDir } from './keys.js';
import { openAuditTrail, type AuditHead } from './trail.js';
import { verifyAuditTrail } from './verify.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function stateDir(): string {
  const temp = makeTempDir('handoff-audit-');
  cleanups.push(temp.cleanup);
  return temp.dir;
}

function lines(dir: string, file = 'trail.jsonl'): string[] {
  return fs
    .readFileSync(path.join(dir, 'audit', file), 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

/** A trail in a fresh state directory that collects every head it reports. */
function trailWithHeads(): { dir: string; trail: ReturnType<typeof openAuditTrail>; heads: AuditHead[] } {
  const dir = stateDir();
  const heads: AuditHead[] = [];
  const trail = openAuditTrail({
    stateDir: dir,
    keyDir: path.join(dir, 'test-keys'),
    redactor: createRedactor(),
    onAppend: (head) => heads.push(head),
  });
  return { dir, trail, heads };
}

describe('openAuditTrail', () => {
  it('keeps the private key in the key directory (0700, key 0600) and only the public key beside the trail', () => {
    const dir = stateDir();
    const keyDir = path.join(dir, 'test-keys');
    const trail = openAuditTrail({ stateDir: dir, keyDir, redactor: createRedactor() });
    trail.close();
    const audit = path.join(dir, 'audit');
    expect(fs.readdirSync(audit).sort()).toEqual(
      ['checkpoints.jsonl', 'signing-key.pub.pem', 'trail-id', 'trail.jsonl'].sort(),
    );
    expect(fs.readdirSync(keyDir).sort()).toEqual(['signing-key.pem', 'signing-key.pub.pem']);
    expect(fs.statSync(keyDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(keyDir, 'signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(audit, 'signing-key.pub.pem'), 'utf8')).toBe(
      fs.readFileSync(path.join(keyDir, 'signing-key.pub.pem'), 'utf8'),
    );
    expect(fs.readFileSync(path.join(audit, 'trail-id'), 'utf8').trim()).toBe(trail.id);
    // A new trail starts with a signed checkpoint over no records.
    expect(lines(dir, 'checkpoints.jsonl').map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ seq: 0, records: 0, headHash: GENESIS_HASH, reason: `trail ${trail.id} opened` }),
    ]);
  });

  it('finds the key directory in HANDOFF_KEY_DIR, else XDG_CONFIG_HOME, else HOME, never in the state directory', () => {
    expect(resolveKeyDir({ HANDOFF_KEY_DIR: '/k', XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/k');
    expect(resolveKeyDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/handoff/keys');
    expect(resolveKeyDir({ XDG_CONFIG_HOME: 'relative', HOME: '/h' })).toBe('/h/.config/handoff/keys');
    expect(resolveKeyDir({ HOME: '/h' })).toBe('/h/.config/handoff/keys');
    const dir = stateDir();
    const home = path.join(dir, 'home');
    openAuditTrail({ stateDir: path.join(dir, 'state'), env: { HOME: home }, redactor: createRedactor() }).close();
    expect(fs.existsSync(path.join(home, '.config', 'handoff', 'keys', 'signing-key.pem'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'state', 'audit', 'signing-key.pem'))).toBe(false);
  });

  it('refuses to sign a trail that another key signed', () => {
    const dir = stateDir();
    openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'keys-a'), redactor: createRedactor() }).close();
    expect(() =>
      openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'keys-b'), redactor: createRedactor() }),
    ).toThrow(/signed with another key/);
  });

  it('chains records from the genesis hash, numbering them from 1, and reports every head in order', () => {
    const { dir, trail, heads } = trailWithHeads();
    const first = trail.append({ actor: 'engine', action: 'stage-started', subject: 'preflight', details: { n: 1 } });
    const second = trail.append({
      actor: 'alice',
      action: 'approval-recorded',
      subject: 'cutover',
      details: {},
      runId: 'r1',
    });
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.runId).toBeNull();
    expect(second.seq).toBe(2);
    expect(second.prevHash).toBe(first.hash);
    expect(heads).toEqual([
      { seq: 1, hash: first.hash },
      { seq: 2, hash: second.hash },
    ]);
    expect(trail.head()).toEqual({ seq: 2, hash: second.hash });
    const written = lines(dir).map((line) => auditRecordSchema.parse(JSON.parse(line)));
    expect(written).toEqual([first, second]);
    for (const record of written) expect(hashRecord(record)).toBe(record.hash);
  });

  it('appends several records at once, chained in order, and refuses them all if one is bad', () => {
    const { dir, trail, heads } = trailWithHeads();
    const first = trail.append({ actor: 'engine', action: 'step-intent', subject: 'a', details: {} });
    const [done, intent] = trail.appendAll([
      { actor: 'engine', action: 'step-done', subject: 'a', details: { n: 1 } },
      { actor: 'engine', action: 'step-intent', subject: 'b', details: {} },
    ]);
    expect(done).toMatchObject({ seq: 2, prevHash: first.hash, action: 'step-done' });
    expect(intent).toMatchObject({ seq: 3, prevHash: done?.hash, action: 'step-intent' });
    expect(heads.map((head) => head.seq)).toEqual([1, 2, 3]);
    expect(() =>
      trail.appendAll([
        { actor: 'engine', action: 'fine', subject: 'c', details: {} },
        { actor: '', action: 'no actor', subject: 'c', details: {} },
      ]),
    ).toThrow(/actor must be a non-empty string/);
    expect(trail.appendAll([])).toEqual([]);
    const next = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    expect(next.append({ actor: 'cli', action: 'after', subject: 'c', details: {} })).toMatchObject({
      seq: 4,
      prevHash: intent?.hash,
    });
    expect(lines(dir)).toHaveLength(4);
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: true, records: 4 });
  });

  it('continues the chain when the trail is opened again by another opener', () => {
    const dir = stateDir();
    const redactor = createRedactor();
    const one = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor });
    const a = one.append({ actor: 'engine', action: 'x', subject: 's', details: {} });
    const two = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor });
    const b = two.append({ actor: 'cli', action: 'y', subject: 's', details: {} });
    expect(b.prevHash).toBe(a.hash);
    expect(one.append({ actor: 'engine', action: 'z', subject: 's', details: {} }).seq).toBe(3);
  });

  it('redacts a registered secret from every field before hashing, raw and encoded', () => {
    const dir = stateDir();
    const secret = 'canary-S3cr3t-7f1d';
    const redactor = createRedactor([secret]);
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor });
    const record = trail.append({
      actor: `user-${secret}`,
      action: 'connect',
      subject: `postgres://app:${encodeURIComponent(secret)}@db/orders`,
      details: { password: secret, nested: [{ b64: Buffer.from(`x${secret}`).toString('base64') }], [secret]: 1 },
    });
    trail.checkpoint(`stage end ${secret}`);
    const text = fs.readFileSync(path.join(dir, 'audit', 'trail.jsonl'), 'utf8');
    const checkpoints = fs.readFileSync(path.join(dir, 'audit', 'checkpoints.jsonl'), 'utf8');
    for (const form of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]) {
      expect(text).not.toContain(form);
      expect(checkpoints).not.toContain(form);
    }
    expect(record.details.password).toBe('[REDACTED]');
    expect(hashRecord(record)).toBe(record.hash);
  });

  it('normalises details to plain JSON before hashing (undefined dropped, bigint and errors as strings)', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    const record = trail.append({
      actor: 'engine',
      action: 'step-failed',
      subject: 's',
      details: { skip: undefined, big: 10n ** 20n, error: new Error('boom'), when: new Date(0) },
    });
    expect(record.details).toEqual({ big: '100000000000000000000', error: 'boom', when: '1970-01-01T00:00:00.000Z' });
  });

  it('refuses an entry without an actor or action, with details that are not an object, or with a bad time', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    expect(() => trail.append({ actor: '', action: 'a', subject: 's', details: {} })).toThrow(/actor/);
    expect(() => trail.append({ actor: 'a', action: '', subject: 's', details: {} })).toThrow(/action/);
    expect(() =>
      trail.append({ actor: 'a', action: 'a', subject: 's', details: [] as unknown as Record<string, unknown> }),
    ).toThrow(/details/);
    expect(() => trail.append({ actor: 'a', action: 'a', subject: 's', details: {}, time: 'yesterday' })).toThrow(
      /time/,
    );
    expect(trail.head().seq).toBe(0);
    // An event about the whole run has an empty subject; that is fine.
    expect(trail.append({ actor: 'engine', action: 'run-started', subject: '', details: {} }).subject).toBe('');
  });

  it('signs checkpoints of the current head', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    const empty = trail.checkpoint('opened');
    expect(empty).toMatchObject({ seq: 0, records: 0, headHash: GENESIS_HASH, reason: 'opened' });
    const record = trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    const checkpoint = trail.checkpoint('stage preflight done');
    expect(checkpoint).toMatchObject({ seq: 1, records: 1, headHash: record.hash });
    expect(lines(dir, 'checkpoints.jsonl')).toHaveLength(3);
  });

  it('moves a partial last line aside, cuts it off and records that it did', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    const first = trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    fs.appendFileSync(path.join(dir, 'audit', 'trail.jsonl'), '{"seq":2,"ti');
    const next = trail.append({ actor: 'engine', action: 'b', subject: 's', details: {} });
    const written = lines(dir).map((line) => auditRecordSchema.parse(JSON.parse(line)));
    expect(written.map((record) => record.action)).toEqual(['a', 'audit.partial-line-discarded', 'b']);
    expect(written[1]?.prevHash).toBe(first.hash);
    expect(written[1]?.details).toMatchObject({ file: 'trail.jsonl', bytes: 12 });
    const saved = String(written[1]?.details.savedAs);
    expect(fs.readFileSync(path.join(dir, 'audit', saved), 'utf8')).toBe('{"seq":2,"ti');
    expect(next.seq).toBe(3);
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: true, records: 3 });
  });

  it('repairs a partial checkpoint line the same way, so the trail verifies again', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    trail.checkpoint('one');
    fs.appendFileSync(path.join(dir, 'audit', 'checkpoints.jsonl'), '{"headHash":"00');
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: false, firstBadSeq: null });
    expect(verifyAuditTrail(dir).reason).toMatch(/checkpoint 3 .*partial last line/);
    trail.checkpoint('two');
    const written = lines(dir).map((line) => auditRecordSchema.parse(JSON.parse(line)));
    expect(written.map((record) => record.action)).toEqual(['a', 'audit.partial-line-discarded']);
    expect(written[1]?.details).toMatchObject({ file: 'checkpoints.jsonl', bytes: 15 });
    expect(lines(dir, 'checkpoints.jsonl')).toHaveLength(3);
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: true, records: 2, checkpoints: 3 });
  });

  it('chains after a record longer than any single read of the tail, from this opener and from another', () => {
    const dir = stateDir();
    const redactor = createRedactor();
    const one = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor });
    const long = one.append({ actor: 'engine', action: 'a', subject: 's', details: { text: 'x'.repeat(200_000) } });
    expect(one.append({ actor: 'engine', action: 'b', subject: 's', details: {} }).prevHash).toBe(long.hash);
    const two = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor });
    const longer = two.append({ actor: 'cli', action: 'c', subject: 's', details: { text: 'y'.repeat(300_000) } });
    expect(one.append({ actor: 'engine', action: 'd', subject: 's', details: {} })).toMatchObject({
      seq: 4,
      prevHash: longer.hash,
    });
    expect(verifyAuditTrail(dir)).toMatchObject({ valid: true, records: 4 });
  });

  it('refuses to append after a damaged last record', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    const file = path.join(dir, 'audit', 'trail.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"action":"a"', '"action":"b"'));
    expect(() => trail.append({ actor: 'engine', action: 'c', subject: 's', details: {} })).toThrow(/damaged/);
  });

  it('refuses a private key that others can read', () => {
    const dir = stateDir();
    openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() }).close();
    fs.chmodSync(path.join(dir, 'test-keys', 'signing-key.pem'), 0o644);
    expect(() =>
      openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() }),
    ).toThrow(/chmod 600/);
  });

  it('refuses appends after close', () => {
    const dir = stateDir();
    const trail = openAuditTrail({ stateDir: dir, keyDir: path.join(dir, 'test-keys'), redactor: createRedactor() });
    trail.close();
    expect(() => trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} })).toThrow(/closed/);
  });
});
