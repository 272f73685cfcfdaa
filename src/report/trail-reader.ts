/**
 * Reads one run's records from the audit trail (`<stateDir>/audit/trail.jsonl`) for the report,
 * and decodes their details with a schema per action. Reading changes nothing. A record whose
 * details do not match the schema of its action is kept aside as unreadable (with why), so the
 * report says it could not read it instead of guessing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { AUDIT_DIR, TRAIL_FILE, auditRecordSchema, type StoredRecord } from '../audit/format.js';
import { readLines } from '../audit/lines.js';

export interface TrailEntry<T> {
  seq: number;
  time: string;
  actor: string;
  subject: string;
  data: T;
}

export interface UnreadableRecord {
  seq: number;
  action: string;
  problem: string;
}

export interface RunTrail {
  /** Every well-formed record of the run, in trail order. */
  records: StoredRecord[];
  /** Records the schema of their action refused (filled by `pick`). */
  unreadable: UnreadableRecord[];
  /** The run's records of one action, their details validated by `schema`, in trail order. */
  pick<S extends z.ZodType>(action: string, schema: S): Array<TrailEntry<z.output<S>>>;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(details)'}: ${issue.message}`)
    .join('; ');
}

export function readRunTrail(stateDir: string, runId: string): RunTrail {
  const file = path.join(stateDir, AUDIT_DIR, TRAIL_FILE);
  const records: StoredRecord[] = [];
  if (fs.existsSync(file)) {
    for (const line of readLines(file)) {
      if (!line.terminated || line.text === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line.text);
      } catch {
        continue; // a damaged line: the trail's verification (in the report) names it
      }
      const result = auditRecordSchema.safeParse(parsed);
      if (result.success && result.data.runId === runId) records.push(result.data);
    }
  }
  const unreadable: UnreadableRecord[] = [];
  const picked = new Set<string>();
  return {
    records,
    unreadable,
    pick(action, schema) {
      const out = [];
      for (const record of records) {
        if (record.action !== action) continue;
        const result = schema.safeParse(record.details);
        if (result.success) {
          out.push({
            seq: record.seq,
            time: record.time,
            actor: record.actor,
            subject: record.subject,
            data: result.data,
          });
        } else if (!picked.has(`${action}:${record.seq}`)) {
          picked.add(`${action}:${record.seq}`);
          unreadable.push({ seq: record.seq, action, problem: describe(result.error) });
        }
      }
      return out;
    },
  };
}
