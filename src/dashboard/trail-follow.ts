/**
 * Following the audit trail (`<stateDir>/audit/trail.jsonl`) as it grows: read the complete lines
 * after a byte offset, keep one run's well-formed records. Works whichever process appends (the
 * trail is append-only; a crash's partial last line is left for the next read). Reading changes
 * nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_DIR, TRAIL_FILE, auditRecordSchema, type StoredRecord } from '../audit/format.js';

export interface TrailChunk {
  records: StoredRecord[];
  /** Where the next read starts: just after the last complete line read. */
  offset: number;
}

/** Bytes read at most per call, so one call on a huge trail stays bounded; the caller reads again. */
const MAX_READ = 4 * 1024 * 1024;

export function trailFile(stateDir: string): string {
  return path.join(stateDir, AUDIT_DIR, TRAIL_FILE);
}

/** The complete records after `offset` (all runs when `runId` is null). A shorter file restarts at 0. */
export function readTrailFrom(file: string, offset: number, runId: string | null): TrailChunk {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { records: [], offset: 0 };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = size < offset ? 0 : offset;
    const length = Math.min(MAX_READ, size - start);
    if (length <= 0) return { records: [], offset: start };
    const buffer = Buffer.alloc(length);
    const read = fs.readSync(fd, buffer, 0, length, start);
    const end = buffer.subarray(0, read).lastIndexOf(0x0a);
    if (end === -1) {
      // One line longer than a read: skip it rather than stall (the audit verifier names it).
      return { records: [], offset: length === MAX_READ ? start + read : start };
    }
    const records: StoredRecord[] = [];
    for (const line of buffer.subarray(0, end).toString('utf8').split('\n')) {
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      const result = auditRecordSchema.safeParse(parsed);
      if (result.success && (runId === null || result.data.runId === runId)) records.push(result.data);
    }
    return { records, offset: start + end + 1 };
  } finally {
    fs.closeSync(fd);
  }
}
