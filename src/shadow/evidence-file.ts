/**
 * The shadow stage's differences file: one JSON line per counted difference (method, path, both
 * statuses, the differing JSON paths, both bodies truncated and redacted), under
 * `<state dir>/shadow/<run id>.jsonl`. Every line passes the run's redactor before it is written;
 * the file is created fresh when the stage (re)starts, mode 0600.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Redactor } from '../common/redact.js';
import { shadowStatusSchema } from './control.js';
import type { DifferenceRecord } from './ledger.js';

export interface EvidenceFile {
  /** Relative to the state directory. */
  readonly relative: string;
  readonly absolute: string;
  append(records: readonly DifferenceRecord[]): void;
}

export function shadowEvidencePath(runId: string): string {
  return path.join('shadow', `${runId.replace(/[^A-Za-z0-9._-]/g, '_')}.jsonl`);
}

export function createEvidenceFile(stateDir: string, runId: string, redactor: Redactor): EvidenceFile {
  const relative = shadowEvidencePath(runId);
  const absolute = path.join(stateDir, relative);
  fs.mkdirSync(path.dirname(absolute), { recursive: true, mode: 0o700 });
  fs.writeFileSync(absolute, '', { mode: 0o600 });
  return {
    relative,
    absolute,
    append(records) {
      if (records.length === 0) return;
      const text = records.map((r) => JSON.stringify(redactor.redactValue(r))).join('\n');
      fs.appendFileSync(absolute, `${text}\n`);
    },
  };
}

/** Reads the differences file back (report, tests); empty when it does not exist. */
export function readEvidenceFile(stateDir: string, runId: string): DifferenceRecord[] {
  const file = path.join(stateDir, shadowEvidencePath(runId));
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => shadowStatusSchema.shape.evidence.element.parse(JSON.parse(line)));
}
