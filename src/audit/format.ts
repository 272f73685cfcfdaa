/**
 * The on-disk format of the audit trail (see docs/audit.md): one record per line of
 * `trail.jsonl`, one signed checkpoint per line of `checkpoints.jsonl`. Every line is the canonical
 * encoding (canonical.ts) of its object, so a line is exactly reproducible from its content.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical.js';

/** prevHash of record 1. */
export const GENESIS_HASH = '0'.repeat(64);

export const AUDIT_DIR = 'audit';
export const TRAIL_FILE = 'trail.jsonl';
export const CHECKPOINTS_FILE = 'checkpoints.jsonl';
export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';
export const LOCK_FILE = 'trail.lock';
/** A random id naming the trail in external sinks. */
export const TRAIL_ID_FILE = 'trail-id';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)');

/** One record as written: every field is covered by `hash`. */
export const auditRecordSchema = z.strictObject({
  seq: z.number().int().min(1),
  time: z.string().min(1),
  runId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: sha256Schema,
  hash: sha256Schema,
});

/** A signed statement "the trail had `records` records and its head was `headHash`". */
export const checkpointSchema = z.strictObject({
  seq: z.number().int().min(0),
  headHash: sha256Schema,
  records: z.number().int().min(0),
  time: z.string().min(1),
  reason: z.string(),
  signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
});

export type StoredRecord = z.infer<typeof auditRecordSchema>;
export type Checkpoint = z.infer<typeof checkpointSchema>;

/**
 * The canonical encodings of a record without `hash` (what is hashed) and with it (the line),
 * built from the same pieces in one pass: top-level keys in their sorted order (action, actor,
 * details, hash, prevHash, runId, seq, subject, time). canonical.test.ts checks this equals
 * canonicalJson of the same objects.
 */
export function encodeRecord(record: Omit<StoredRecord, 'hash'> & { hash?: string }): { body: string; line: string } {
  const q = JSON.stringify;
  const head = `{"action":${q(record.action)},"actor":${q(record.actor)},"details":${canonicalJson(record.details)}`;
  const tail =
    `"prevHash":${q(record.prevHash)},"runId":${record.runId === null ? 'null' : q(record.runId)},` +
    `"seq":${q(record.seq)},"subject":${q(record.subject)},"time":${q(record.time)}}`;
  const body = `${head},${tail}`;
  return { body, line: record.hash === undefined ? body : `${head},"hash":${q(record.hash)},${tail}` };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SHA-256 (hex) of the canonical encoding of every field of a record except `hash`. */
export function hashRecord(record: Omit<StoredRecord, 'hash'>): string {
  const { seq, time, runId, actor, action, subject, details, prevHash } = record;
  return sha256Hex(encodeRecord({ seq, time, runId, actor, action, subject, details, prevHash }).body);
}

/** The bytes a checkpoint's Ed25519 signature covers: every field except `signature`, canonical. */
export function checkpointPayload(checkpoint: Omit<Checkpoint, 'signature'> | Checkpoint): Buffer {
  const { seq, headHash, records, time, reason } = checkpoint;
  return Buffer.from(canonicalJson({ seq, headHash, records, time, reason }), 'utf8');
}

/** The line a record or checkpoint is written as (its canonical encoding and a newline). */
export function toLine(value: StoredRecord | Checkpoint): string {
  return `${'hash' in value ? encodeRecord(value).line : canonicalJson(value)}\n`;
}
