// Helpers for the audit tests: build a real trail, then change its files the way an attacker would.
import fs from 'node:fs';
import path from 'node:path';
import { createRedactor } from '../../src/common/redact.js';
import { hashRecord, toLine, auditRecordSchema, type StoredRecord } from '../../src/audit/format.js';
import { openAuditTrail } from '../../src/audit/trail.js';

export function trailPath(stateDir: string): string {
  return path.join(stateDir, 'audit', 'trail.jsonl');
}

export function checkpointsPath(stateDir: string): string {
  return path.join(stateDir, 'audit', 'checkpoints.jsonl');
}

/** The key directory the fixtures sign with: inside the temporary directory, so it is cleaned up with it. */
export function keyDirOf(stateDir: string): string {
  return path.join(stateDir, 'test-keys');
}

/** Writes `count` records with a checkpoint after each record number in `checkpointsAt`. */
export function buildTrail(stateDir: string, count: number, checkpointsAt: number[] = []): void {
  const trail = openAuditTrail({
    stateDir,
    keyDir: keyDirOf(stateDir),
    redactor: createRedactor(),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
  });
  for (let seq = 1; seq <= count; seq++) {
    trail.append({
      actor: seq % 2 === 0 ? 'engine' : 'alice',
      action: 'stage-done',
      subject: `stage-${seq}`,
      details: { seq, note: `record number ${seq}`, values: [seq, seq * 2] },
      runId: 'run-1',
    });
    if (checkpointsAt.includes(seq)) trail.checkpoint(`after ${seq}`);
  }
  trail.close();
}

export function readLinesOf(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

export function writeLinesOf(file: string, lines: string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

export function parseRecord(line: string): StoredRecord {
  return auditRecordSchema.parse(JSON.parse(line));
}

/** A record with a correct hash of its own (what an attacker without the key can make). */
export function forgeRecord(fields: Omit<StoredRecord, 'hash'>): string {
  return toLine({ ...fields, hash: hashRecord(fields) }).slice(0, -1);
}

/** Renumbers, re-links and re-hashes every record, as an attacker without the signing key would. */
export function rechain(lines: string[]): string[] {
  let prevHash = '0'.repeat(64);
  return lines.map((line, index) => {
    const { hash: _hash, ...rest } = parseRecord(line);
    const fields = { ...rest, seq: index + 1, prevHash };
    const forged = forgeRecord(fields);
    prevHash = parseRecord(forged).hash;
    return forged;
  });
}
