/**
 * Verifies an audit trail on its own (no state store, no private key needed): every record's hash,
 * every link, contiguous sequence numbers, every checkpoint's Ed25519 signature and that the
 * signed heads are in the trail, and, when the state store's head is known, that the trail reaches
 * it. The first problem (by position in the trail) is reported, naming the record and what is wrong.
 */
import fs from 'node:fs';
import path from 'node:path';
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { z } from 'zod';
import { InputError } from '../common/errors.js';
import { canonicalJson } from './canonical.js';
import {
  AUDIT_DIR,
  CHECKPOINTS_FILE,
  GENESIS_HASH,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  TRAIL_FILE,
  auditRecordSchema,
  checkpointPayload,
  checkpointSchema,
  encodeRecord,
  sha256Hex,
} from './format.js';
import { keyFingerprint, parsePublicKey } from './keys.js';
import { readLines, type Line } from './lines.js';
import type { AuditHead } from './trail.js';

export interface VerifyAuditOptions {
  /** The head the state store recorded; a trail that ends before it is truncated. */
  expectedHead?: AuditHead;
  /** A pinned public key (PEM) to check signatures with instead of the one beside the trail. */
  publicKey?: string;
  /** A pinned key or fingerprint (takes the place of `publicKey`). */
  pin?: PinnedKey;
  /** Checkpoints held elsewhere (a sink): each must verify, be in checkpoints.jsonl, and be reached by the trail. */
  external?: ExternalCheckpoints;
}

export interface AuditVerification {
  valid: boolean;
  /** Complete lines in trail.jsonl (one record each in an intact trail). */
  records: number;
  /** The first record that is bad or missing; null when valid or only a checkpoint is bad. */
  firstBadSeq: number | null;
  /** What is wrong and where, for the first problem; null when valid. */
  reason: string | null;
  /** Complete lines in checkpoints.jsonl. */
  checkpoints: number;
  /** The last record of the intact prefix of the chain. */
  head: AuditHead;
  /** `sha256:<hex>` of the public key the checkpoints were checked against. */
  publicKeyFingerprint: string | null;
  /** Whether that key was pinned by the caller; when false, "valid" only means consistent with itself. */
  keyPinned: boolean;
  /** The last record covered by a good signed checkpoint (records after it are chained, not signed). */
  signedThrough: number;
  /** How many checkpoints the external copy held; null when none was compared. */
  externalCheckpoints: number | null;
}

interface Problem {
  seq: number | null;
  reason: string;
  /**
   * For a problem that only says "something in seq..upTo changed" (a checkpoint whose head no
   * longer matches): a precise problem inside that range explains it and is reported instead.
   */
  upTo?: number;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function partialReason(line: Line): string {
  return `${Buffer.byteLength(line.text)} bytes without a newline at line ${line.number} (a write that did not finish, or a cut)`;
}

/** Checks the chain; returns the hashes of its intact prefix (index i = record i + 1). */
function verifyChain(file: string, problems: Problem[]): { hashes: string[]; lines: number } {
  const hashes: string[] = [];
  const seqLines = new Map<number, number>();
  let broken = false;
  let lines = 0;
  for (const line of readLines(file)) {
    const position = line.number;
    if (!line.terminated) {
      problems.push({ seq: position, reason: `record ${position}: partial last line, ${partialReason(line)}` });
      break;
    }
    lines++;
    if (broken) continue;
    const fail = (reason: string, seq = position): void => {
      problems.push({ seq, reason: `record ${seq} (line ${position}): ${reason}` });
      broken = true;
    };
    const parsed = parseJson(line.text);
    if (!parsed.ok) {
      fail(line.text === '' ? 'empty line' : 'not valid JSON (damaged)');
      continue;
    }
    const result = auditRecordSchema.safeParse(parsed.value);
    if (!result.success) {
      fail(`not a well-formed record (${describeIssues(result.error)})`);
      continue;
    }
    const record = result.data;
    const encoded = encodeRecord(record);
    if (sha256Hex(encoded.body) !== record.hash) {
      fail('hash does not match its content (modified)');
      continue;
    }
    if (encoded.line !== line.text) {
      fail('not in canonical form (the line was edited)');
      continue;
    }
    if (record.seq !== position) {
      const seenAt = seqLines.get(record.seq);
      if (seenAt !== undefined) {
        fail(
          `record ${record.seq} appears again at line ${position} after line ${seenAt} (a record was inserted, or records reordered)`,
          record.seq,
        );
      } else {
        fail(`found record ${record.seq} where record ${position} should be (records removed or reordered)`);
      }
      continue;
    }
    const previous = position === 1 ? GENESIS_HASH : hashes[position - 2];
    if (record.prevHash !== previous) {
      fail(
        position === 1
          ? 'prevHash is not the genesis hash (records before it were removed)'
          : `prevHash does not match the hash of record ${position - 1} (a record before it was changed and re-hashed, inserted or removed)`,
      );
      continue;
    }
    hashes.push(record.hash);
    seqLines.set(record.seq, position);
  }
  return { hashes, lines };
}

interface CheckpointScan {
  /** Complete lines read. */
  count: number;
  /** The highest record number a good signed checkpoint covers (0 when none). */
  signedThrough: number;
  /** The text of every complete line, to compare with a sink's copy. */
  texts: Set<string>;
}

/** Checks signed checkpoint lines (from checkpoints.jsonl, or a sink's copy) against the chain. */
function verifyCheckpoints(
  lines: Iterable<Line>,
  label: (number: number) => string,
  publicKey: KeyObject | null,
  chain: { hashes: string[]; lines: number },
  problems: Problem[],
): CheckpointScan {
  const scan: CheckpointScan = { count: 0, signedThrough: 0, texts: new Set() };
  let lastGood = 0;
  let previousSeq = 0;
  for (const line of lines) {
    const where = label(line.number);
    const fail = (reason: string, seq: number | null = null, upTo?: number): void => {
      problems.push({ seq, reason: `${where}: ${reason}`, upTo });
    };
    if (!line.terminated) {
      fail(`partial last line, ${partialReason(line)}`);
      break;
    }
    scan.count++;
    scan.texts.add(line.text);
    const parsed = parseJson(line.text);
    if (!parsed.ok) {
      fail('not valid JSON (damaged)');
      continue;
    }
    const result = checkpointSchema.safeParse(parsed.value);
    if (!result.success) {
      fail(`not a well-formed checkpoint (${describeIssues(result.error)})`);
      continue;
    }
    const checkpoint = result.data;
    if (publicKey === null) {
      fail('cannot be checked: no public key to check it with');
      continue;
    }
    const signature = Buffer.from(checkpoint.signature, 'base64');
    if (signature.toString('base64') !== checkpoint.signature || signature.length !== 64) {
      fail('signature is not the base64 of a 64-byte Ed25519 signature (altered)');
      continue;
    }
    if (!verifySignature(null, checkpointPayload(checkpoint), publicKey, signature)) {
      fail('signature does not verify (the checkpoint was altered, or signed with another key)');
      continue;
    }
    if (canonicalJson(checkpoint) !== line.text) {
      fail('not in canonical form (the line was edited)');
      continue;
    }
    if (checkpoint.records !== checkpoint.seq) {
      fail(`records (${checkpoint.records}) differs from seq (${checkpoint.seq})`);
      continue;
    }
    if (checkpoint.seq < previousSeq) {
      fail(
        `covers ${checkpoint.seq} records, fewer than the checkpoint before it (${previousSeq}): checkpoints reordered`,
      );
    }
    previousSeq = Math.max(previousSeq, checkpoint.seq);
    if (checkpoint.seq > chain.lines) {
      const from = chain.lines + 1;
      fail(
        `signed at ${checkpoint.time} over ${checkpoint.seq} records, but the trail ends at record ${chain.lines}: ` +
          `record${from === checkpoint.seq ? ` ${from} was` : `s ${from}..${checkpoint.seq} were`} removed (truncated)`,
        from,
      );
      continue;
    }
    if (checkpoint.seq > chain.hashes.length) continue; // beyond a break already reported
    const actual = checkpoint.seq === 0 ? GENESIS_HASH : chain.hashes[checkpoint.seq - 1];
    if (actual !== checkpoint.headHash) {
      fail(
        `record ${checkpoint.seq}'s hash is not the head hash signed at ${checkpoint.time}: ` +
          `records ${lastGood + 1}..${checkpoint.seq} were rewritten after it was signed`,
        lastGood + 1,
        checkpoint.seq,
      );
      continue;
    }
    lastGood = Math.max(lastGood, checkpoint.seq);
  }
  scan.signedThrough = lastGood;
  return scan;
}

/** Lines given in memory (a sink's copy), numbered from 1, all complete. */
function* memoryLines(texts: readonly string[]): Generator<Line> {
  let number = 0;
  for (const text of texts) yield { number: ++number, text, terminated: true };
}

function checkExpectedHead(expected: AuditHead, chain: { hashes: string[]; lines: number }, problems: Problem[]): void {
  if (expected.seq > chain.lines) {
    const from = chain.lines + 1;
    problems.push({
      seq: from,
      reason:
        `the state store's audit head is record ${expected.seq} but the trail ends at record ${chain.lines}: ` +
        `record${from === expected.seq ? ` ${from} was` : `s ${from}..${expected.seq} were`} removed (truncated)`,
    });
    return;
  }
  if (expected.seq > chain.hashes.length) return;
  const actual = expected.seq === 0 ? GENESIS_HASH : chain.hashes[expected.seq - 1];
  if (actual !== expected.hash) {
    problems.push({
      seq: expected.seq,
      reason: `record ${expected.seq}: hash differs from the head the state store recorded (records up to it were rewritten)`,
    });
  }
}

/** A pinned key: the key itself, or the `sha256:` fingerprint of the one expected beside the trail. */
export type PinnedKey = { key: KeyObject } | { fingerprint: string };

/**
 * The key to check signatures with, and whether it was pinned. Without a pin, the key beside the
 * trail is used: that proves only that the trail is consistent with itself.
 */
function chooseKey(dir: string, pin: PinnedKey | undefined, problems: Problem[]): KeyObject | null {
  const file = path.join(dir, PUBLIC_KEY_FILE);
  let beside: KeyObject | null = null;
  if (fs.existsSync(file)) {
    try {
      beside = parsePublicKey(fs.readFileSync(file, 'utf8'), file);
    } catch (error) {
      if (pin === undefined || 'fingerprint' in pin) {
        problems.push({
          seq: null,
          reason: `${PUBLIC_KEY_FILE}: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
  }
  if (pin === undefined) return beside;
  const expected = 'key' in pin ? keyFingerprint(pin.key) : pin.fingerprint;
  if (beside !== null && keyFingerprint(beside) !== expected) {
    problems.push({
      seq: null,
      reason:
        `the public key beside the trail (${keyFingerprint(beside)}) is not the pinned key (${expected}): ` +
        'the trail was signed, or re-signed, with another key',
    });
  }
  if ('key' in pin) return pin.key;
  return beside !== null && keyFingerprint(beside) === expected ? beside : null;
}

export interface ExternalCheckpoints {
  /** Where they come from, for messages (a sink URL without its password). */
  source: string;
  /** The trail's id they were looked up by. */
  trailId: string;
  /** Their lines (canonical JSON), oldest first. */
  lines: readonly string[];
}

export function verifyAuditTrail(stateDir: string, options: VerifyAuditOptions = {}): AuditVerification {
  const dir = path.join(stateDir, AUDIT_DIR);
  const trailPath = path.join(dir, TRAIL_FILE);
  const checkpointsPath = path.join(dir, CHECKPOINTS_FILE);
  const known = [TRAIL_FILE, CHECKPOINTS_FILE, PUBLIC_KEY_FILE, PRIVATE_KEY_FILE];
  const expectsRecords = (options.expectedHead?.seq ?? 0) > 0;
  if (!expectsRecords && !known.some((file) => fs.existsSync(path.join(dir, file)))) {
    throw new InputError(
      `there is no audit trail in ${dir} (no ${TRAIL_FILE}); pass --state-dir with the run's state directory`,
    );
  }
  const problems: Problem[] = [];
  const pin =
    options.pin ??
    (options.publicKey === undefined ? undefined : { key: parsePublicKey(options.publicKey, 'the public key given') });
  const publicKey = chooseKey(dir, pin, problems);
  let chain = { hashes: [] as string[], lines: 0 };
  if (fs.existsSync(trailPath)) {
    chain = verifyChain(trailPath, problems);
  } else {
    problems.push({
      seq: 1,
      reason: expectsRecords
        ? `${TRAIL_FILE} is missing though the state store's audit head is record ${options.expectedHead?.seq} (deleted)`
        : `${TRAIL_FILE} is missing though the audit directory holds its keys or checkpoints (deleted)`,
    });
  }
  const local = fs.existsSync(checkpointsPath)
    ? verifyCheckpoints(
        readLines(checkpointsPath),
        (n) => `checkpoint ${n} (line ${n} of ${CHECKPOINTS_FILE})`,
        publicKey,
        chain,
        problems,
      )
    : null;
  if (chain.lines > 0 && (local === null || local.count === 0)) {
    problems.push({
      seq: null,
      reason:
        `${CHECKPOINTS_FILE} is ${local === null ? 'missing' : 'empty'} though the trail holds ${chain.lines} records: ` +
        'its signed checkpoints were deleted (a trail starts with a signed checkpoint)',
    });
  }
  let signedThrough = local?.signedThrough ?? 0;
  const external = options.external;
  if (external !== undefined) {
    const scan = verifyCheckpoints(
      memoryLines(external.lines),
      (n) => `checkpoint ${n} held by ${external.source}`,
      publicKey,
      chain,
      problems,
    );
    signedThrough = Math.max(signedThrough, scan.signedThrough);
    if (scan.count === 0 && (local?.count ?? 0) > 0) {
      problems.push({
        seq: null,
        reason: `${external.source} holds no checkpoint of trail ${external.trailId}: the trail was replaced, or its checkpoints were never sent there`,
      });
    }
    external.lines.forEach((line, index) => {
      if (local !== null && !local.texts.has(line)) {
        problems.push({
          seq: null,
          reason: `checkpoint ${index + 1} held by ${external.source} is not in ${CHECKPOINTS_FILE}: checkpoints were deleted or rewritten`,
        });
      }
    });
  }
  if (options.expectedHead !== undefined) checkExpectedHead(options.expectedHead, chain, problems);

  // The first problem by position in the trail; problems with no position (checkpoints, keys) last;
  // a vague range is dropped when a precise problem inside it says exactly where.
  const precise = problems.filter((problem) => problem.upTo === undefined && problem.seq !== null);
  const explained = (problem: Problem): boolean =>
    problem.upTo !== undefined &&
    precise.some(
      (other) =>
        other.seq !== null && problem.seq !== null && other.seq >= problem.seq && other.seq <= (problem.upTo ?? 0),
    );
  const first = problems
    .filter((problem) => !explained(problem))
    .map((problem, index) => ({ ...problem, index }))
    .sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.index - b.index)[0];
  const headSeq = chain.hashes.length;
  return {
    valid: first === undefined,
    records: chain.lines,
    firstBadSeq: first?.seq ?? null,
    reason: first?.reason ?? null,
    checkpoints: local?.count ?? 0,
    head: { seq: headSeq, hash: headSeq === 0 ? GENESIS_HASH : (chain.hashes[headSeq - 1] ?? GENESIS_HASH) },
    publicKeyFingerprint: publicKey === null ? null : keyFingerprint(publicKey),
    keyPinned: pin !== undefined,
    signedThrough,
    externalCheckpoints: external === undefined ? null : external.lines.length,
  };
}
