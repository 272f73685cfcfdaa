/**
 * The audit trail: an append-only, hash-chained JSON-lines file with Ed25519-signed checkpoints,
 * safe to append to from several processes at once. See docs/audit.md for the format.
 *
 * Every append takes the trail's lock file, reads the last record (checked unless it is the very
 * line this trail wrote last), writes the new record as one line, fsyncs, calls `onAppend` (still
 * under the lock, so heads are reported in order) and releases the lock. When `append` returns,
 * the record is on disk. A crash leaves either the whole line or a partial last line; the next
 * append moves a partial line aside (into `trail.jsonl.partial-<time>-<pid>`), cuts it off and
 * records that it did, so the chain goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { HandoffError, InputError, InternalError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { toJsonValue } from './canonical.js';
import {
  AUDIT_DIR,
  CHECKPOINTS_FILE,
  GENESIS_HASH,
  LOCK_FILE,
  PUBLIC_KEY_FILE,
  TRAIL_FILE,
  TRAIL_ID_FILE,
  auditRecordSchema,
  checkpointPayload,
  hashRecord,
  toLine,
  type Checkpoint,
} from './format.js';
import { acquireFileLock } from './lock.js';
import { fsyncDirectory, publicKeyPem, writeDurably } from './keys.js';
import { createKeyDirSigner, signerFromEnv, type AuditSigner } from './signer.js';
import type { CheckpointSink } from './sink.js';
import { appendDurably, readTail, truncateTo, type FileTail } from './tail.js';

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
  /** The same for several records, chained in order, in one write and one fsync. */
  appendAll(entries: readonly AuditEntry[]): AuditRecord[];
  /** Signs and durably writes a checkpoint of the current head (at least at every stage and run end). */
  checkpoint(reason: string): Checkpoint;
  head(): AuditHead;
  /** This trail's id (`audit/trail-id`), the key under which sinks keep its checkpoints. */
  readonly id: string;
  /** Waits (at most `timeoutMs`, default 10 s) for checkpoints still being sent to the sink. */
  flush(timeoutMs?: number): Promise<void>;
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
  /** What signs checkpoints; default the key in `keyDir`. */
  signer?: AuditSigner;
  /** The key directory; default from `env` (HANDOFF_KEY_DIR, XDG_CONFIG_HOME, HOME), see keys.ts. */
  keyDir?: string;
  /** The environment to find the signer in (HANDOFF_SIGNER, else the key directory); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Where each checkpoint is also sent, as it is written. */
  sink?: CheckpointSink;
  /** Told of a failed delivery to the sink (which is also recorded in the trail); never fatal. */
  onSinkError?: (message: string) => void;
}

/**
 * Opens (creating on first use) the trail in `<stateDir>/audit/`. The signing key is not there: it
 * is in the key directory (keys.ts) or with the signer given; only its public half is copied beside
 * the trail.
 */
export function openAuditTrail(options: AuditTrailOptions): AuditTrail {
  const { redactor, onAppend } = options;
  const now = options.now ?? (() => new Date());
  const dir = path.join(options.stateDir, AUDIT_DIR);
  const trailPath = path.join(dir, TRAIL_FILE);
  const checkpointsPath = path.join(dir, CHECKPOINTS_FILE);
  const lockPath = path.join(dir, LOCK_FILE);
  const lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000 };

  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signer =
    options.signer ??
    (options.keyDir !== undefined ? createKeyDirSigner(options.keyDir) : signerFromEnv(options.env ?? process.env));
  const pending = new Set<Promise<void>>();
  const opened = withLock(() => {
    if (!fs.existsSync(trailPath)) {
      fs.closeSync(fs.openSync(trailPath, 'a', 0o600));
      fsyncDirectory(dir);
    }
    usePublicKey();
    const trailId = trailIdOf();
    // A new trail starts with a signed checkpoint over no records, so an empty or missing
    // checkpoints.jsonl beside records always means that checkpoints were removed.
    const fresh = !fs.existsSync(checkpointsPath) && fs.statSync(trailPath).size === 0;
    const genesis = fresh ? writeCheckpoint({ seq: 0, hash: GENESIS_HASH }, `trail ${trailId} opened`) : null;
    return { trailId, genesis };
  });
  const trailId = opened.trailId;
  if (opened.genesis !== null) ship(opened.genesis);
  let closed = false;

  /**
   * Writes the signer's public key beside the trail (for convenience: verification does not trust
   * it unless told to), and refuses to go on signing a trail that another key signed.
   */
  function usePublicKey(): void {
    const file = path.join(dir, PUBLIC_KEY_FILE);
    const pem = publicKeyPem(signer.publicKey);
    if (!fs.existsSync(file)) {
      writeDurably(file, pem, 0o644);
      return;
    }
    if (fs.readFileSync(file, 'utf8').trim() !== pem.trim()) {
      throw new InputError(
        `the audit trail in ${dir} was signed with another key than ${signer.describe}; ` +
          `use the key directory that signed it (HANDOFF_KEY_DIR), or start a new state directory`,
      );
    }
  }

  function trailIdOf(): string {
    const file = path.join(dir, TRAIL_ID_FILE);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
    const id = randomUUID();
    writeDurably(file, `${id}\n`, 0o644);
    return id;
  }

  function writeCheckpoint(head: AuditHead, reason: string): Checkpoint {
    const unsigned = {
      seq: head.seq,
      headHash: head.hash,
      records: head.seq,
      time: now().toISOString(),
      reason: redactor.redact(reason),
    };
    const signature = signer.sign(checkpointPayload(unsigned)).toString('base64');
    const checkpoint: Checkpoint = { ...unsigned, signature };
    appendDurably(checkpointsPath, toLine(checkpoint));
    return checkpoint;
  }

  /** Sends a checkpoint to the sink in the background; a failure is recorded, never thrown. */
  function ship(checkpoint: Checkpoint): void {
    const sink = options.sink;
    if (sink === undefined) return;
    const line = toLine(checkpoint).slice(0, -1);
    const delivery: Promise<void> = sink
      .send(trailId, line)
      .catch((error: unknown) => {
        const message = `checkpoint ${checkpoint.seq} could not be sent to ${sink.where}: ${error instanceof Error ? error.message : String(error)}`;
        options.onSinkError?.(redactor.redact(message));
        if (closed) return;
        try {
          withLock(() =>
            repairThenWrite([
              {
                actor: 'handoff',
                action: 'audit.sink-failed',
                subject: sink.where,
                details: { checkpointSeq: checkpoint.seq, error: message },
              },
            ]),
          );
        } catch {
          /* the callback above was told; the trail may be closed or locked for long */
        }
      })
      .finally(() => pending.delete(delivery));
    pending.add(delivery);
  }

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

  /**
   * The last line this trail appended and the head it holds. An append reads the trail's last line
   * anyway (to find a partial one); when that line is byte for byte the one written here, it is
   * not parsed and hashed again (the common case: one process appending record after record).
   */
  let written: { line: string; head: AuditHead } | null = null;

  /** The last complete record, checked against its own hash; a corrupt tail stops all appends. */
  function lastRecord(tail: FileTail = readTail(trailPath)): AuditHead {
    if (tail.lastLine === null) return { seq: 0, hash: GENESIS_HASH };
    if (written !== null && tail.lastLine === written.line) return written.head;
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

  /**
   * Moves a partial last line (an interrupted write) aside and cuts it off. Returns what it did (null
   * when the file ends cleanly) and the file's tail as it is now.
   */
  function discardPartial(file: string): { repair: Record<string, unknown> | null; tail: FileTail } {
    const tail = readTail(file);
    if (tail.partial.length === 0) return { repair: null, tail };
    const savedAs = `${path.basename(file)}.partial-${now().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    fs.writeFileSync(path.join(dir, savedAs), tail.partial, { mode: 0o600 });
    truncateTo(file, tail.size - tail.partial.length);
    const repair = {
      file: path.basename(file),
      bytes: tail.partial.length,
      sha256: createHash('sha256').update(tail.partial).digest('hex'),
      savedAs,
    };
    // The complete lines are as they were: only the partial one is gone.
    return { repair, tail: { ...tail, partial: Buffer.alloc(0), size: tail.size - tail.partial.length } };
  }

  function write(entry: AuditEntry, previous: AuditHead): AuditRecord {
    return writeAll([entry], previous)[0] as AuditRecord;
  }

  /** One line per entry, chained from `previous`, appended in one write and made durable together. */
  function writeAll(entries: readonly AuditEntry[], previous: AuditHead): AuditRecord[] {
    const records: AuditRecord[] = [];
    let head = previous;
    let text = '';
    let line = '';
    for (const entry of entries) {
      const record = makeRecord(entry, head);
      line = toLine(record);
      text += line;
      records.push(record);
      head = { seq: record.seq, hash: record.hash };
    }
    if (records.length === 0) return records;
    written = null; // until the lines are on disk: a failed write leaves nothing to trust
    appendDurably(trailPath, text);
    written = { line: line.slice(0, -1), head };
    for (const record of records) onAppend?.({ seq: record.seq, hash: record.hash });
    return records;
  }

  function makeRecord(entry: AuditEntry, previous: AuditHead): AuditRecord {
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
    return { ...body, hash: hashRecord(body) };
  }

  function repairThenWrite(entries: readonly AuditEntry[]): AuditHead & { records: AuditRecord[] } {
    const trail = discardPartial(trailPath);
    const checkpoints = discardPartial(checkpointsPath);
    let head = lastRecord(trail.tail);
    for (const repair of [trail.repair, checkpoints.repair]) {
      if (repair === null) continue;
      const record = write(
        { actor: 'handoff', action: 'audit.partial-line-discarded', subject: String(repair.file), details: repair },
        head,
      );
      head = { seq: record.seq, hash: record.hash };
    }
    const records = writeAll(entries, head);
    const last = records.at(-1);
    return { ...(last ? { seq: last.seq, hash: last.hash } : head), records };
  }

  function appendAll(entries: readonly AuditEntry[]): AuditRecord[] {
    ensureOpen();
    entries.forEach(checkEntry);
    return entries.length === 0 ? [] : withLock(() => repairThenWrite(entries)).records;
  }

  return {
    append(entry) {
      const [record] = appendAll([entry]);
      if (record === undefined) throw new InternalError('audit append wrote no record');
      return record;
    },
    appendAll,
    checkpoint(reason) {
      ensureOpen();
      const checkpoint = withLock(() => writeCheckpoint(repairThenWrite([]), reason));
      ship(checkpoint);
      return checkpoint;
    },
    id: trailId,
    async flush(timeoutMs = 10_000) {
      if (pending.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      try {
        await Promise.race([Promise.allSettled([...pending]).then(() => undefined), bound]);
      } finally {
        clearTimeout(timer);
      }
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
