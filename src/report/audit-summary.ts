/**
 * Ties a report to the audit trail: the trail's verification result, its head, and the signed
 * checkpoint that covers the run's last record (so a reader can check the report's facts against
 * a trail an auditor has verified).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_DIR, CHECKPOINTS_FILE, GENESIS_HASH, checkpointSchema, type Checkpoint } from '../audit/format.js';
import { readLines } from '../audit/lines.js';
import type { AuditHead } from '../audit/trail.js';
import { verifyAuditTrail } from '../audit/verify.js';
import { HandoffError } from '../common/errors.js';
import type { ReportAudit } from './model-types.js';
import type { RunTrail } from './trail-reader.js';

function readCheckpoints(stateDir: string): Checkpoint[] {
  const file = path.join(stateDir, AUDIT_DIR, CHECKPOINTS_FILE);
  if (!fs.existsSync(file)) return [];
  const out: Checkpoint[] = [];
  for (const line of readLines(file)) {
    if (!line.terminated) continue;
    try {
      const result = checkpointSchema.safeParse(JSON.parse(line.text));
      if (result.success) out.push(result.data);
    } catch {
      // a damaged checkpoint line: the verification names it
    }
  }
  return out;
}

export function summarizeAudit(stateDir: string, trail: RunTrail, expectedHead: AuditHead | undefined): ReportAudit {
  const last = trail.records.at(-1);
  const lastRunRecord = last ? { seq: last.seq, hash: last.hash } : null;
  let verification: ReturnType<typeof verifyAuditTrail>;
  try {
    verification = verifyAuditTrail(stateDir, expectedHead ? { expectedHead } : {});
  } catch (error) {
    const reason = error instanceof HandoffError ? error.message : String(error);
    return {
      valid: false,
      records: 0,
      runRecords: trail.records.length,
      reason,
      head: { seq: 0, hash: GENESIS_HASH },
      checkpoint: null,
      publicKeyFingerprint: null,
      lastRunRecord,
      unreadable: trail.unreadable,
    };
  }
  const checkpoints = readCheckpoints(stateDir);
  const covering = lastRunRecord ? checkpoints.find((c) => c.seq >= lastRunRecord.seq) : undefined;
  const chosen = covering ?? checkpoints.at(-1);
  return {
    valid: verification.valid,
    records: verification.records,
    runRecords: trail.records.length,
    reason: verification.reason,
    head: verification.head,
    checkpoint: chosen ? { seq: chosen.seq, headHash: chosen.headHash, time: chosen.time, reason: chosen.reason } : null,
    publicKeyFingerprint: verification.publicKeyFingerprint,
    lastRunRecord,
    unreadable: trail.unreadable,
  };
}
