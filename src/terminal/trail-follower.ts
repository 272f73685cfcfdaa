/**
 * Follows a state directory's audit trail (audit/trail.jsonl) as it grows: each read returns the
 * records of complete lines written since the last read, for one run. A line still being written
 * is left for the next read. Read-only; a trail that does not exist yet reads as nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_DIR, TRAIL_FILE } from '../audit/format.js';
import type { LiveEvent } from './live-state.js';

export interface TrailFollower {
  /** Records of `runId` appended since the last call (all of them on the first call). */
  read(runId: string): LiveEvent[];
}

/** Bytes read per call at most (a long trail is caught up over several calls). */
export const MAX_READ_BYTES = 8 * 1024 * 1024;

export function createTrailFollower(stateDir: string): TrailFollower {
  const file = path.join(stateDir, AUDIT_DIR, TRAIL_FILE);
  let offset = 0;
  return {
    read(runId) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        return [];
      }
      let text: string;
      try {
        const size = fs.fstatSync(fd).size;
        if (size < offset) offset = size;
        const length = Math.min(size - offset, MAX_READ_BYTES);
        if (length <= 0) return [];
        const buffer = Buffer.alloc(length);
        fs.readSync(fd, buffer, 0, length, offset);
        const end = buffer.lastIndexOf(0x0a);
        if (end < 0) return [];
        text = buffer.subarray(0, end).toString('utf8');
        offset += end + 1;
      } finally {
        fs.closeSync(fd);
      }
      const events: LiveEvent[] = [];
      for (const line of text.split('\n')) {
        const event = parse(line, runId);
        if (event) events.push(event);
      }
      return events;
    },
  };
}

function parse(line: string, runId: string): LiveEvent | null {
  // The run id is in every record of the run: skip the others without parsing them.
  if (!line.includes(runId)) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (r.runId !== runId || typeof r.action !== 'string' || typeof r.time !== 'string') return null;
  const details = typeof r.details === 'object' && r.details !== null ? (r.details as Record<string, unknown>) : {};
  return { time: r.time, type: r.action, subject: typeof r.subject === 'string' ? r.subject : '', data: details };
}
