/**
 * Ties a report to the audit trail: the trail's verification result, its head, and the signed
 * checkpoint that covers the run's last record (so a reader can check the report's facts against
 * a trail an auditor has verified). The trail is verified against the key the run's plan pins
 * (`spec.audit.publicKey`) when it pins one; otherwise the report says that "valid" only means the
 * trail is consistent with itself (a trail re-signed with a fresh key passes that).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AUDIT_DIR, CHECKPOINTS_FILE, GENESIS_HASH, checkpointSchema, type Checkpoint } from '../audit/format.js';
import { readLines } from '../audit/lines.js';
import type { AuditHead } from '../audit/trail.js';
import { parsePinnedKey } from '../audit/pin.js';
import { verifyAuditTrail, type PinnedKey } from '../audit/verify.js';
import { HandoffError } from '../common/errors.js';
import { loadPlanText } from '../plan/load.js';
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

/** What the report says when no key is pinned. */
export const UNPINNED_NOTE = 'key not pinned: valid means internally consistent';

/** The run's plan, as the store keeps it: its text and where it was read from. */
export interface RunPlanText {
  text: string;
  file: string;
}

/** The key `spec.audit.publicKey` of the run's plan pins, none, or why it cannot be read. */
function pinnedKeyOf(plan: RunPlanText | undefined): { pin: PinnedKey } | { problem: string } | null {
  if (plan === undefined) return null;
  let value: string | undefined;
  try {
    value = loadPlanText(plan.text, plan.file).plan.spec.audit?.publicKey;
  } catch {
    return null; // a plan that no longer loads pins nothing; the plan section says it cannot be read
  }
  if (value === undefined) return null;
  try {
    return { pin: parsePinnedKey(value, 'spec.audit.publicKey', path.dirname(plan.file)) };
  } catch (error) {
    return { problem: error instanceof HandoffError ? error.message : String(error) };
  }
}

export function summarizeAudit(
  stateDir: string,
  trail: RunTrail,
  expectedHead: AuditHead | undefined,
  plan?: RunPlanText,
): ReportAudit {
  const last = trail.records.at(-1);
  const lastRunRecord = last ? { seq: last.seq, hash: last.hash } : null;
  const pinned = pinnedKeyOf(plan);
  let verification: ReturnType<typeof verifyAuditTrail>;
  try {
    if (pinned !== null && 'problem' in pinned)
      throw new Error(`the plan pins a key that cannot be read: ${pinned.problem}`);
    verification = verifyAuditTrail(stateDir, {
      ...(expectedHead ? { expectedHead } : {}),
      ...(pinned ? { pin: pinned.pin } : {}),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      valid: false,
      records: 0,
      runRecords: trail.records.length,
      reason,
      head: { seq: 0, hash: GENESIS_HASH },
      checkpoint: null,
      publicKeyFingerprint: null,
      keyPinned: pinned !== null,
      keyNote: pinned === null ? UNPINNED_NOTE : null,
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
    checkpoint: chosen
      ? { seq: chosen.seq, headHash: chosen.headHash, time: chosen.time, reason: chosen.reason }
      : null,
    publicKeyFingerprint: verification.publicKeyFingerprint,
    keyPinned: verification.keyPinned,
    keyNote: verification.keyPinned ? null : UNPINNED_NOTE,
    lastRunRecord,
    unreadable: trail.unreadable,
  };
}
