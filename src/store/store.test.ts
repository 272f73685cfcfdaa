import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { MIGRATIONS } from './migrations.js';
import { openStore, type Store } from './store.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempStateDir(): string {
  const tmp = makeTempDir('handoff-store-');
  cleanups.push(tmp.cleanup);
  return path.join(tmp.dir, 'state');
}

function open(stateDir: string, now?: () => Date, secrets: string[] = []): Store {
  const store = openStore({ stateDir, create: true, redactor: createRedactor(secrets), ...(now ? { now } : {}) });
  if (!store) throw new Error('store not created');
  cleanups.unshift(() => store.close());
  return store;
}

function newRun(store: Store, id = 'run-1', planName = 'p'): void {
  store.runs.create({ id, planName, planHash: 'h1', planFile: '/plan.yaml', planText: 'kind: Migration', until: null });
}

describe('openStore', () => {
  it('creates nothing when asked not to and there is no store', () => {
    const stateDir = tempStateDir();
    expect(openStore({ stateDir, create: false, redactor: createRedactor() })).toBeNull();
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it('creates a private directory and files, in WAL mode with synchronous=FULL, at the latest schema', () => {
    const stateDir = tempStateDir();
    const store = open(stateDir);
    newRun(store);
    expect(fs.statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const file of fs.readdirSync(stateDir)) {
      expect(fs.statSync(path.join(stateDir, file)).mode & 0o777, file).toBe(0o600);
    }
    const db = new Database(store.path, { readonly: true });
    cleanups.unshift(() => db.close());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    store.close();
    const again = open(stateDir);
    expect(again.runs.get('run-1')?.planName).toBe('p');
  });

  it('refuses a store whose schema is newer than this version knows', () => {
    const stateDir = tempStateDir();
    open(stateDir).close();
    const db = new Database(path.join(stateDir, 'state.db'));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => open(stateDir)).toThrow(/newer than this handoff knows/);
  });

  it('stores no secret: plan text, errors, results and values are redacted', () => {
    const secret = 'canary-Zq81-secret';
    const stateDir = tempStateDir();
    const store = open(stateDir, undefined, [secret]);
    store.runs.create({ id: 'r', planName: 'p', planHash: 'h', planFile: '/x', planText: `pw ${secret}`, until: null });
    store.runs.update('r', { error: `failed with ${secret}`, reason: Buffer.from(secret).toString('base64') });
    store.steps.intent('r', 'preflight', 's', 1);
    store.steps.done('r', 'preflight', 's', 1, { url: `postgres://u:${secret}@h/db` });
    store.steps.setValue('r', 'k', { nested: [secret] });
    store.close();
    for (const file of fs.readdirSync(stateDir)) {
      const bytes = fs.readFileSync(path.join(stateDir, file));
      expect(bytes.includes(secret), file).toBe(false);
      expect(bytes.includes(Buffer.from(secret).toString('base64')), file).toBe(false);
    }
  });
});

describe('steps', () => {
  it('records intent, done and undone, keeps the first intent order and counts attempts', () => {
    const store = open(tempStateDir());
    newRun(store);
    store.steps.intent('run-1', 'preflight', 'a', 1);
    store.steps.done('run-1', 'preflight', 'a', 1, { ok: true });
    store.steps.intent('run-1', 'provision', 'b', 1);
    store.steps.intent('run-1', 'provision', 'b', 2);
    store.steps.failed('run-1', 'provision', 'b', 2, 'boom');
    const [a, b] = store.steps.list('run-1');
    expect(a).toMatchObject({ step: 'a', state: 'done', seq: 1, result: { ok: true }, key: 'run-1/preflight/a' });
    expect(b).toMatchObject({ step: 'b', state: 'failed', seq: 2, attempts: 2, epoch: 2, error: 'boom' });
    store.steps.undone('run-1', 'preflight', 'a', 2);
    expect(store.steps.get('run-1', 'preflight', 'a')).toMatchObject({ state: 'undone', result: { ok: true } });
    expect(() => store.steps.done('run-1', 'preflight', 'zzz', 1, null)).toThrow(/no intent/);
  });
});

describe('leases', () => {
  it('refuses a held lease, takes an expired one with epoch + 1, and fences the old holder', () => {
    let now = 1_000_000;
    const store = open(tempStateDir(), () => new Date(now));
    newRun(store);
    const first = store.leases.acquire({ runId: 'run-1', holder: 'a', ttlMs: 1000 });
    expect('acquired' in first && first.acquired.epoch).toBe(1);
    const refused = store.leases.acquire({ runId: 'run-1', holder: 'b', ttlMs: 1000 });
    expect('held' in refused && refused.held.holder).toBe('a');
    now += 500;
    expect(store.leases.renew({ runId: 'run-1', holder: 'a', epoch: 1 }, 1000)).toBe(true);
    now += 1001;
    const second = store.leases.acquire({ runId: 'run-1', holder: 'b', ttlMs: 1000 });
    expect('acquired' in second && second.acquired.epoch).toBe(2);
    expect(store.leases.renew({ runId: 'run-1', holder: 'a', epoch: 1 }, 1000)).toBe(false);
    expect(() =>
      store.fenced({ runId: 'run-1', holder: 'a', epoch: 1 }, () => store.steps.intent('run-1', 'preflight', 'x', 1)),
    ).toThrow(/lost the lease/);
    expect(store.steps.list('run-1')).toEqual([]);
    store.fenced({ runId: 'run-1', holder: 'b', epoch: 2 }, () => store.steps.intent('run-1', 'preflight', 'x', 2));
    expect(store.steps.list('run-1')).toHaveLength(1);
  });

  it('lets a caller take over a live lease whose holder it knows is dead, and a released one at once', () => {
    const store = open(tempStateDir());
    newRun(store);
    store.leases.acquire({ runId: 'run-1', holder: 'dead', ttlMs: 60_000 });
    const taken = store.leases.acquire({
      runId: 'run-1',
      holder: 'b',
      ttlMs: 60_000,
      canTakeOver: (l) => l.holder === 'dead',
    });
    expect('acquired' in taken && taken.acquired.epoch).toBe(2);
    store.leases.release({ runId: 'run-1', holder: 'b', epoch: 2 });
    const third = store.leases.acquire({ runId: 'run-1', holder: 'c', ttlMs: 60_000 });
    expect('acquired' in third && third.acquired.epoch).toBe(3);
  });
});

describe('requests and records', () => {
  it('keeps control requests until handled, approvals with who, role and when, and the audit head', () => {
    const store = open(tempStateDir());
    newRun(store);
    const request = store.requests.request('run-1', 'pause', 'alice');
    expect(store.requests.pending('run-1')).toEqual([request]);
    store.requests.markHandled(request.id);
    expect(store.requests.pending('run-1')).toEqual([]);
    const approval = store.requests.approve('run-1', 'cutover', 'bob', 'db-owner');
    expect(approval).toMatchObject({ stage: 'cutover', by: 'bob', role: 'db-owner', audited: false });
    expect(Date.parse(approval.approvedAt)).not.toBeNaN();
    store.requests.markAudited(approval.id);
    expect(store.requests.approvals('run-1')[0]?.audited).toBe(true);
    expect(store.records.auditHead()).toBeUndefined();
    store.records.setAuditHead({ seq: 3, hash: 'abc' });
    store.records.setAuditHead({ seq: 4, hash: 'def' });
    expect(store.records.auditHead()).toEqual({ seq: 4, hash: 'def' });
    store.records.addGateDecision({
      runId: 'run-1',
      stage: 'shift',
      outcome: 'Pass',
      reason: 'ok',
      details: [1],
      epoch: 1,
    });
    expect(store.records.gateDecisions('run-1')[0]).toMatchObject({ outcome: 'Pass', details: [1] });
  });
});

describe('concurrent opening', () => {
  it('re-reads the schema version under the write lock, so a second opener applies nothing twice', () => {
    const stateDir = tempStateDir();
    fs.mkdirSync(stateDir, { recursive: true });
    fs.closeSync(fs.openSync(path.join(stateDir, 'state.db'), 'a', 0o600));
    const first = new Database(path.join(stateDir, 'state.db'));
    cleanups.unshift(() => first.close());
    expect(first.pragma('user_version', { simple: true })).toBe(0);
    const a = open(stateDir);
    const b = openStore({ stateDir, create: false, redactor: createRedactor() });
    cleanups.unshift(() => b?.close());
    expect(b).not.toBeNull();
    newRun(a);
    expect(b?.runs.get('run-1')?.planName).toBe('p');
  });

  it('opens a store at the latest schema without the write lock, while a writer holds it', () => {
    const stateDir = tempStateDir();
    newRun(open(stateDir));
    const writer = new Database(path.join(stateDir, 'state.db'));
    cleanups.unshift(() => writer.close());
    writer.exec('begin immediate');
    cleanups.unshift(() => writer.inTransaction && writer.exec('rollback'));
    // A reader (status, the dashboard) neither waits for the writer nor makes it wait.
    const reader = openStore({ stateDir, create: false, redactor: createRedactor(), busyTimeoutMs: 50 });
    cleanups.unshift(() => reader?.close());
    expect(reader?.runs.get('run-1')?.planName).toBe('p');
    writer.exec("update runs set plan_name = 'q'");
    writer.exec('commit');
    expect(reader?.runs.get('run-1')?.planName).toBe('q');
  });
});
