/**
 * Reads the audit head the state store keeps (`<stateDir>/state.db`, table `audit_head`), read-only,
 * so `handoff audit verify` can tell a trail cut after its last checkpoint. Returns null when there
 * is no state store, no such table or no head yet. A state directory this process cannot write (an
 * auditor's copy, a read-only mount) is read from a private snapshot (store/snapshot.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import { canWriteStore, snapshotStore } from '../store/snapshot.js';
import type { AuditHead } from './trail.js';

const STATE_FILE = 'state.db';

const headRowSchema = z.object({
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});

export function readStateAuditHead(stateDir: string): AuditHead | null {
  const file = path.join(stateDir, STATE_FILE);
  if (!fs.existsSync(file)) return null;
  const snapshot = canWriteStore(file) ? null : snapshotStore(file);
  let db: Database.Database;
  try {
    db = new Database(snapshot?.file ?? file, { readonly: true, fileMustExist: true, timeout: 5_000 });
  } catch (error) {
    snapshot?.dispose();
    throw new InputError(`cannot open the state store ${file} read-only to read the audit head`, { cause: error });
  }
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_head'").get();
    if (table === undefined) return null;
    const row = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get();
    if (row === undefined) return null;
    const result = headRowSchema.safeParse(row);
    if (!result.success) {
      throw new InputError(
        `${file}: audit_head holds a malformed head (${result.error.issues[0]?.message ?? 'invalid'})`,
      );
    }
    return result.data;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read the audit head from the state store ${file}`, { cause: error });
  } finally {
    db.close();
    snapshot?.dispose();
  }
}
