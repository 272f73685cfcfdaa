import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/support/tmp.js';
import { MIGRATIONS } from './migrations.js';
import { createRecordsRepo } from './records.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function database(): { db: Database.Database; file: string } {
  const tmp = makeTempDir('handoff-records-');
  cleanups.push(tmp.cleanup);
  const file = path.join(tmp.dir, 'state.db');
  const db = new Database(file);
  cleanups.unshift(() => db.close());
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  for (const migration of MIGRATIONS) db.exec(migration);
  return { db, file };
}

describe('the audit head', () => {
  it('is committed at once for other readers, and leaves the store as durable as it was for every other write', () => {
    const { db, file } = database();
    const records = createRecordsRepo({ db, now: () => new Date(), clean: (text) => text, json: JSON.stringify });
    const reader = new Database(file, { readonly: true });
    cleanups.unshift(() => reader.close());
    records.setAuditHead({ seq: 1, hash: 'a' });
    expect(reader.prepare('SELECT seq, hash FROM audit_head').get()).toEqual({ seq: 1, hash: 'a' });
    // FULL (2) again after the head's own commit, and any other level kept as it was.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.pragma('synchronous = EXTRA');
    records.setAuditHead({ seq: 2, hash: 'b' });
    expect(db.pragma('synchronous', { simple: true })).toBe(3);
    // Inside another transaction (where the level cannot change) it is part of that commit.
    db.transaction(() => records.setAuditHead({ seq: 3, hash: 'c' }))();
    expect(reader.prepare('SELECT seq, hash FROM audit_head').get()).toEqual({ seq: 3, hash: 'c' });
    expect(records.auditHead()).toEqual({ seq: 3, hash: 'c' });
  });
});
