import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { readStateAuditHead } from '../../src/audit/state-head.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { readLinesOf, trailPath, writeLinesOf } from './fixtures.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function stateDir(): string {
  const temp = makeTempDir('handoff-audit-head-');
  cleanups.push(temp.cleanup);
  return temp.dir;
}

describe("the state store's audit head", () => {
  it('is kept by the real store through onAppend, read while the store is open, and catches a cut tail', async () => {
    const dir = stateDir();
    const redactor = createRedactor();
    const store = openStore({ stateDir: dir, create: true, redactor });
    if (store === null) throw new Error('the store was not created');
    cleanups.push(() => store.close());
    const trail = openAuditTrail({
      stateDir: dir,
      keyDir: path.join(dir, 'test-keys'),
      redactor,
      onAppend: (head) => store.records.setAuditHead(head),
    });
    trail.append({ actor: 'engine', action: 'run-started', subject: 'run-1', details: {} });
    trail.checkpoint('run started');
    let last = trail.append({ actor: 'engine', action: 'stage-started', subject: 'preflight', details: {} });
    for (let index = 0; index < 4; index++) {
      last = trail.append({ actor: 'engine', action: 'step-done', subject: `step-${index}`, details: { index } });
    }
    expect(readStateAuditHead(dir)).toEqual({ seq: 6, hash: last.hash });
    expect(verifyAuditTrail(dir, { expectedHead: readStateAuditHead(dir) ?? undefined }).valid).toBe(true);
    expect((await runCli(['audit', 'verify', '--state-dir', dir])).code).toBe(0);

    // Cut records 4..6: no checkpoint covers them, only the store's head shows they existed.
    writeLinesOf(trailPath(dir), readLinesOf(trailPath(dir)).slice(0, 3));
    expect(verifyAuditTrail(dir).valid).toBe(true);
    const result = await runCli(['audit', 'verify', '--state-dir', dir, '-o', 'json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, records: 3, firstBadSeq: 4 });
    expect(result.stdout).toMatch(/state store's audit head is record 6/);
  });

  it('is absent without a state store, without the table, or without a row, and nothing is created', () => {
    const dir = stateDir();
    expect(readStateAuditHead(dir)).toBeNull();
    expect(fs.readdirSync(dir)).toEqual([]);
    const db = new Database(path.join(dir, 'state.db'));
    db.exec('CREATE TABLE runs (id TEXT)');
    db.close();
    expect(readStateAuditHead(dir)).toBeNull();
    const again = new Database(path.join(dir, 'state.db'));
    again.exec(
      'CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)',
    );
    again.close();
    expect(readStateAuditHead(dir)).toBeNull();
  });

  it('refuses a malformed head or an unreadable state store as bad input', () => {
    const dir = stateDir();
    const db = new Database(path.join(dir, 'state.db'));
    db.exec(
      'CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO audit_head VALUES (1, 3, ?)').run('not-a-hash');
    db.close();
    expect(() => readStateAuditHead(dir)).toThrow(/audit_head holds a malformed head/);
    fs.writeFileSync(path.join(dir, 'state.db'), 'this is not a database, just text long enough to be read');
    expect(() => readStateAuditHead(dir)).toThrow(/cannot (open|read)/);
  });
});
