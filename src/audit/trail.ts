/**
 * The audit trail: an append-only, hash-chained JSON-lines file with Ed25519-signed checkpoints,
 * safe to append to from several processes at once. See docs/audit.md for the format.
 *
 * Every append takes the trail's lock file, reads the last record, writes the new record as one
 * line, fsyncs, calls `onAppend` (still under the lock, so heads are reported in order) and
 * releases the lock. When `append` returns, the record is on disk. A crash leaves either the whole
 * line or a partial last line; the next append moves a partial line aside (into
 * `trail.partial-<time>`), cuts it off and records that it did, so the chain goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, sign } from 'node:crypto';
import { HandoffError, InputError, InternalError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { toJsonValue } from './canonical.js';
import {
  AUDIT_DIR,
  CHECKPOINTS_FILE,
  GENESIS_HASH,
  LOCK_FILE,
  TRAIL_FILE,
  auditRecordSchema,
  checkpointPayload,
  hashRecord,
  toLine,
  type Checkpoint,
} from './format.js';
import { acquireFileLock } from './lock.js';
import { fsyncDirectory, loadOrCreateSigningKeys } from './keys.js';
import { appendDurably, readTail, truncateTo } from './tail.js';

export type { Checkpoint } from './format.js';

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  time?: string;
  runId?: string | null;
}

export interface AuditRecord extends Required<AuditEntry> {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The last record of the trail; `{ seq: 0, hash: GENESIS_HASH }` for an empty trail. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditTrail {
  /** Redacts, hashes, appends and fsyncs one record; returns it as written. */
  append(entry: AuditEntry): AuditRecord;
  /** Signs and durably writes a checkpoint of the current head (at least at every stage and run end). */
  checkpoint(reason: string): Checkpoint;
  head(): AuditHead;
  close(): void;
}

export interface AuditTrailOptions {
  stateDir: string;
  redactor: Redactor;
  /** Called after every durable append, under the lock, in order: the state store keeps the head. */
  onAppend?: (head: AuditHead) => void;
  /** Bound on waiting for another process's append. Default 10 s. */
  lockTimeoutMs?: number;
  now?: () => Date;
}

/** Opens (creating on first use) the trail in `<stateDir>/audit/`. */
export function openAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { redactor, onAppend } = options;
  const now = options.now ?? (() => new Date());
  const dir = path.join(options.stateDir, AUDIT_DIR);
  const trailPath = path.join(dir, TRAIL_FILE);
  const checkpointsPath = path.join(dir, CHECKPOINTS_FILE);
  const lockPath = path.join(dir, LOCK_FILE);
  const lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000 };

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = withLock(() => {
    for (const file of [trailPath, checkpointsPath]) {
      if (!fs.existsSync(file)) {
        fs.closeSync(fs.openSync(file, 'a', 0o600));
        fsyncDirectory(dir);
      }
    }
    return loadOrCreateSigningKeys(dir);
  });
  let closed = false;

  function withLock<T>(action: () => T): T {
    const lock = acquireFileLock(lockPath, lockOptions);
    try {
      return action();
    } finally {
      lock.release();
    }
  }

  function ensureOpen(): void {
    if (closed) throw new InternalError('the audit trail is closed');
  }

  /** The last complete record, checked against its own hash; a corrupt tail stops all appends. */
  function lastRecord(): AuditHead {
    const tail = readTail(trailPath);
    if (tail.lastLine === null) return { seq: 0, hash: GENESIS_HASH };
    let parsed: unknown;
    try {
      parsed = JSON.parse(tail.lastLine);
    } catch {
      parsed = undefined;
    }
    const result = auditRecordSchema.safeParse(parsed);
    if (!result.success || hashRecord(result.data) !== result.data.hash) {
      throw new HandoffError(
        'audit.invalid',
        `the last record of ${trailPath} (at byte ${tail.lastLineOffset}) is damaged; nothing more can be appended. ` +
          'Run `handoff audit verify` to see where the trail breaks.',
      );
    }
    return { seq: result.data.seq, hash: result.data.hash };
  }

  /** Moves a partial last line (an interrupted write) aside and cuts it off. Returns what it did. */
  function discardPartial(file: string): Record<string, unknown> | null {
    const tail = readTail(file);
    if (tail.partial.length === 0) return null;
    const savedAs = `${path.basename(file)}.partial-${now().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    fs.writeFileSync(path.join(dir, savedAs), tail.partial, { mode: 0o600 });
    truncateTo(file, tail.size - tail.partial.length);
    return {
      file: path.basename(file),
      bytes: tail.partial.length,
      sha256: createHash('sha256').update(tail.partial).digest('hex'),
      savedAs,
    };
  }

  function write(entry: AuditEntry, previous: AuditHead): AuditRecord {
    const time = entry.time ?? now().toISOString();
    const details = toJsonValue(entry.details);
    if (details === null || typeof details !== 'object' || Array.isArray(details)) {
      throw new InputError('audit entry: details must be an object');
    }
    const body = {
      seq: previous.seq + 1,
      time: redactor.redact(time),
      runId: entry.runId == null ? null : redactor.redact(entry.runId),
      actor: redactor.redact(entry.actor),
      action: redactor.redact(entry.action),
      subject: redactor.redact(entry.subject),
      details: redactor.redactValue(details),
      prevHash: previous.hash,
    };
    const record = { ...body, hash: hashRecord(body) };
    appendDurably(trailPath, toLine(record));
    onAppend?.({ seq: record.seq, hash: record.hash });
    return record;
  }

  function repairThenWrite(entry: AuditEntry | null): AuditHead & { record: AuditRecord | null } {
    const repairs = [discardPartial(trailPath), discardPartial(checkpointsPath)];
    let head = lastRecord();
    for (const repair of repairs) {
      if (repair === null) continue;
      const record = write(
        { actor: 'handoff', action: 'audit.partial-line-discarded', subject: String(repair.file), details: repair },
        head,
      );
      head = { seq: record.seq, hash: record.hash };
    }
    if (entry === null) return { ...head, record: null };
    const record = write(entry, head);
    return { seq: record.seq, hash: record.hash, record };
  }

  return {
    append(entry) {
      ensureOpen();
      checkEntry(entry);
      const { record } = withLock(() => repairThenWrite(entry));
      if (record === null) throw new InternalError('audit append wrote no record');
      return record;
    },
    checkpoint(reason) {
      ensureOpen();
      return withLock(() => {
        const head = repairThenWrite(null);
        const unsigned = {
          seq: head.seq,
          headHash: head.hash,
          records: head.seq,
          time: now().toISOString(),
          reason: redactor.redact(reason),
        };
        const signature = sign(null, checkpointPayload(unsigned), keys.privateKey).toString('base64');
        const checkpoint: Checkpoint = { ...unsigned, signature };
        appendDurably(checkpointsPath, toLine(checkpoint));
        return checkpoint;
      });
    },
    head() {
      ensureOpen();
      return withLock(() => lastRecord());
    },
    close() {
      closed = true;
    },
  };
}

function checkEntry(entry: AuditEntry): void {
  for (const field of ['actor', 'action'] as const) {
    if (typeof entry[field] !== 'string' || entry[field].length === 0) {
      throw new InputError(`audit entry: ${field} must be a non-empty string`);
    }
  }
  // An event about the run as a whole has no subject: the empty string.
  if (typeof entry.subject !== 'string') throw new InputError('audit entry: subject must be a string');
  if (entry.details === null || typeof entry.details !== 'object' || Array.isArray(entry.details)) {
    throw new InputError('audit entry: details must be an object');
  }
  if (entry.time !== undefined && Number.isNaN(Date.parse(entry.time))) {
    throw new InputError(`audit entry: time "${entry.time}" is not an ISO 8601 time`);
  }
}
