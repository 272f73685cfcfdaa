import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../audit/trail.js';
import { HandoffError } from '../common/errors.js';
import { createRedactor, REDACTED } from '../common/redact.js';
import { openStore } from '../store/store.js';
import { listFiles, makeTempDir } from '../../test/support/tmp.js';
import {
  PLAN_TEXT,
  SECRET,
  URL_PASSWORD,
  writeSyntheticRuns,
  type SyntheticRuns,
} from '../../test/report/synthetic-run.js';
import { buildReportModel } from './model.js';

describe('buildReportModel', () => {
  const tmp = makeTempDir('handoff-report-model-');
  const stateDir = path.join(tmp.dir, 'state');
  let runs: SyntheticRuns;
  const build = (runId: string, redactor = createRedactor([SECRET])) => buildReportModel({ stateDir, runId, redactor });

  beforeAll(() => {
    runs = writeSyntheticRuns(stateDir);
  });
  afterAll(() => tmp.cleanup());

  it('describes a run that went to the end: what moved, every stage, traffic, the cutover, data and the trail', () => {
    const model = build(runs.succeeded);
    expect(model.run).toMatchObject({ id: 'run-succeeded', plan: 'orders-to-gke', state: 'succeeded' });
    expect(model.run.durationMs).toBeGreaterThan(60_000);
    expect(model.moved.source.platform).toBe('kubernetes eks-prod/orders');
    expect(model.moved.target.endpoint).toBe('http://orders.gke.internal:8080');
    expect(model.moved.databases).toEqual([{ database: 'orders', tables: ['public.*'] }]);
    expect(model.moved.router).toBe('builtin router on 127.0.0.1:8080');
    expect(model.stages.map((s) => [s.name, s.state])).toEqual([
      ['preflight', 'done'],
      ['provision', 'done'],
      ['replicate', 'done'],
      ['verify', 'done'],
      ['shift', 'done'],
      ['cutover', 'done'],
      ['bake', 'done'],
      ['finalize', 'done'],
    ]);
    expect(model.stages.find((s) => s.name === 'bake')?.durationMs).toBe(30_000);
    // Weights: set, five steps, then writes at cutover.
    expect(model.weights.map((w) => w.reads.target)).toEqual([0, 0.01, 0.05, 0.25, 0.5, 1, 1]);
    expect(model.weights.at(-1)?.writes.target).toBe(1);
    // 10 s of samples at each of 5 steps, 30 s of bake: 16 windows of 500 requests.
    expect(model.totals.requests).toBe(16 * 500);
    expect(model.totals.failedRequests).toBe(0);
    expect(model.traffic.filter((p) => p.site === 'target' && p.cls === 'writes' && p.requests > 0)).toHaveLength(6);
    expect(model.lag.map((p) => p.lagMs).slice(0, 6)).toEqual([2400, 1300, 600, 180, 60, 35]);
    expect(model.cutover).toMatchObject({ writePauseMs: 182, heldRequests: 37, failedRequests: 0, fenceMs: 240 });
    expect(model.verification.map((v) => [v.rowsCompared, v.identical])).toEqual([
      [24_000, true],
      [24_310, true],
    ]);
    expect(model.gates).toHaveLength(1);
    expect(model.gates[0]?.checks[0]).toMatchObject({
      check: 'errors',
      outcome: 'Pass',
      samples: 1200,
      threshold: 'max 0.01, ratio fail 2, min samples 200',
    });
    expect(model.approvals).toEqual([{ stage: 'cutover', by: 'dana', role: 'db-owner', at: expect.any(String) }]);
    expect(model.rollbacks).toEqual([]);
    expect(model.cleanup).toEqual([
      {
        at: expect.any(String),
        stage: 'finalize',
        what: expect.arrayContaining(['replication slot handoff_slot']),
        leftBehind: [],
      },
    ]);
    expect(model.risks.map((r) => [r.severity, r.subject])).toEqual([
      ['warning', 'public.orders_id_seq'],
      ['warning', 'orders: role app_blue'],
    ]);
    expect(model.risks[1]?.message).toMatch(/ended 2 sessions of app_blue still open after retireAfter/);
    expect(model.audit.valid).toBe(true);
    expect(model.audit.head.seq).toBe(model.audit.records);
    expect(model.audit.lastRunRecord?.seq).toBe(model.audit.head.seq);
    expect(model.audit.checkpoint?.headHash).toBe(model.audit.lastRunRecord?.hash);
    expect(model.audit.unreadable).toEqual([]);
  });

  it('describes a rolled-back run: the gate that failed, the rollback, what it undid and what it left', () => {
    const model = build(runs.rolledBack);
    expect(model.run.state).toBe('rolled-back');
    expect(model.stages.map((s) => [s.name, s.state])).toEqual([
      ['preflight', 'done'],
      ['provision', 'undone'],
      ['replicate', 'undone'],
      ['verify', 'undone'],
      ['shift', 'failed'],
    ]);
    expect(model.stages.find((s) => s.name === 'shift')?.undoneAt).not.toBeNull();
    expect(model.gates.map((g) => g.outcome)).toEqual(['hold', 'rollback', 'Fail']);
    expect(model.gates[1]?.checks[0]).toMatchObject({ value: 0.2, samples: 300 });
    expect(model.rollbacks).toEqual([
      {
        stage: 'shift',
        reason: 'check errors failed: target error rate 20 % > max 1 %',
        startedAt: expect.any(String),
        doneAt: expect.any(String),
        undone: ['shift', 'verify', 'replicate', 'provision'],
      },
    ]);
    expect(model.weights.at(-1)?.reads).toEqual({ source: 1, target: 0 });
    expect(model.totals.bySite.target).toEqual({ requests: 372, errors: 60 });
    expect(model.cutover).toBeNull();
    expect(model.risks.map((r) => [r.severity, r.origin])).toEqual([
      ['warning', 'preflight postgres:orders'],
      ['warning', 'clean-up'],
      ['warning', 'run'],
    ]);
    // Only this run's records: the other run's are in the same trail.
    expect(model.audit.runRecords).toBeLessThan(model.audit.records);
    expect(model.audit.lastRunRecord?.seq).toBe(model.audit.runRecords);
  });

  it('changes nothing in the state directory: every file has the same bytes afterwards', () => {
    const snapshot = () =>
      Object.fromEntries(
        listFiles(stateDir)
          .filter((file) => !file.endsWith('.lock'))
          .map((file) => [
            path.relative(stateDir, file),
            createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
          ]),
      );
    const before = snapshot();
    build(runs.succeeded);
    build(runs.rolledBack);
    expect(snapshot()).toEqual(before);
  });

  it('lets no secret through: registered ones, and URL passwords nobody registered', () => {
    const raw = fs.readFileSync(path.join(stateDir, 'audit', 'trail.jsonl'), 'utf8');
    expect(raw).toContain(SECRET); // the trail's writer did not know it: the report must hide it
    expect(raw).toContain(URL_PASSWORD);
    const redactor = createRedactor([SECRET]);
    const text = JSON.stringify(build(runs.rolledBack, redactor));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(URL_PASSWORD);
    expect(text).toContain(`postgres://app:${REDACTED}@db.internal`);
    expect(redactor.redact(`x ${URL_PASSWORD} y`)).toBe(`x ${REDACTED} y`);
  });

  it('refuses an unknown run or a directory without a store as not found, creating nothing', () => {
    const unknown = (() => {
      try {
        build('no-such-run');
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(unknown).toBeInstanceOf(HandoffError);
    expect(unknown).toMatchObject({ code: 'not-found', message: expect.stringContaining('no-such-run') });
    const empty = path.join(tmp.dir, 'nothing-here');
    expect(() => buildReportModel({ stateDir: empty, runId: 'r1', redactor: createRedactor() })).toThrow(
      /no state store/,
    );
    expect(fs.existsSync(empty)).toBe(false);
  });

  it('reads what other components record when the report events are missing, and lists records it cannot read', () => {
    const dir = path.join(tmp.dir, 'fallback');
    const redactor = createRedactor();
    const store = openStore({ stateDir: dir, create: true, redactor });
    if (!store) throw new Error('no store');
    const trail = openAuditTrail({ stateDir: dir, redactor, onAppend: (head) => store.records.setAuditHead(head) });
    try {
      store.runs.create({
        id: 'r-old',
        planName: 'orders-to-gke',
        planHash: 'cd'.repeat(32),
        planFile: '/p.yaml',
        planText: PLAN_TEXT,
        until: null,
      });
      const append = (action: string, details: Record<string, unknown>) =>
        trail.append({ actor: 'engine', action, subject: '', details, runId: 'r-old' });
      append('router-routes-changed', {
        before: { reads: { source: 1 }, writes: { source: 1 } },
        after: { reads: { source: 0.5, target: 0.5 }, writes: { source: 1 } },
        changed: ['reads'],
      });
      append('pg-table-verified', {
        table: 'public.t',
        identical: false,
        sourceRows: 10,
        targetRows: 9,
        chunks: 1,
        mismatchedChunks: 1,
        missing: 1,
        extra: 0,
        changed: 0,
        method: 'chunked',
        elapsedMs: 5,
      });
      append('replication-lag', { database: 'orders', lagMs: 'slow' });
    } finally {
      trail.close();
      store.close();
    }
    const model = buildReportModel({ stateDir: dir, runId: 'r-old', redactor });
    expect(model.weights).toEqual([
      {
        at: expect.any(String),
        reads: { source: 0.5, target: 0.5 },
        writes: { source: 1 },
        reason: 'router routes changed',
      },
    ]);
    expect(model.verification[0]).toMatchObject({
      identical: false,
      rowsCompared: 10,
      tables: [{ table: 'public.t', missing: 1 }],
    });
    expect(model.lag).toEqual([]);
    expect(model.audit.unreadable).toEqual([
      { seq: 3, action: 'replication-lag', problem: expect.stringContaining('lagMs') },
    ]);
    expect(model.risks.map((r) => [r.severity, r.origin])).toEqual([
      ['blocker', 'verification'],
      ['warning', 'run'],
      ['info', 'audit'],
    ]);
  });

  it('says the trail does not verify when a record was changed, and makes that a blocking risk', () => {
    const dir = path.join(tmp.dir, 'tampered');
    writeSyntheticRuns(dir);
    const file = path.join(dir, 'audit', 'trail.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"writePauseMs":182', '"writePauseMs":18'));
    const model = buildReportModel({ stateDir: dir, runId: 'run-succeeded', redactor: createRedactor() });
    expect(model.audit.valid).toBe(false);
    expect(model.audit.reason).toMatch(/modified/);
    expect(model.risks[0]).toMatchObject({ severity: 'blocker', subject: 'audit trail' });
  });
});
