/**
 * Writes a synthetic state directory through the real state store and audit trail APIs (the same
 * path the engine takes: events on a bus, audited one record each): two runs of one plan.
 * - `rolledBack`: preflight with a warning, replicate with lag, verify, a shift whose gates fail at
 *   25 % (target errors), a rollback that undoes every stage and leaves one thing behind;
 * - `succeeded`: every stage, an approval before cutover, the cutover measured, bake, finalize
 *   with its clean-up.
 * A registered secret and an unregistered URL password are planted in texts, to show the report
 * hides both. Times come from a fake clock, so the runs span minutes in no time.
 */
import type { EventBus, EventPayloads, EventType } from '../../src/common/events.js';
import { createEventBus } from '../../src/common/events.js';
import { createRedactor } from '../../src/common/redact.js';
import { openAuditTrail, type AuditTrail } from '../../src/audit/trail.js';
import { auditEvents } from '../../src/engine/observers.js';
import { openStore, type Store } from '../../src/store/store.js';
import '../../src/report/events.js';
import '../../src/engine/events.js';

export const PLAN_TEXT = `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: orders-to-gke
spec:
  source:
    platform: { kind: kubernetes, context: eks-prod, namespace: orders }
    endpoint: http://orders.eks.internal:8080
    databases:
      orders: { url: { fromEnv: SOURCE_ORDERS_DB } }
  target:
    platform: { kind: kubernetes, context: gke-prod, namespace: orders }
    endpoint: http://orders.gke.internal:8080
    databases:
      orders: { url: { fromEnv: TARGET_ORDERS_DB } }
  workloads:
    selector: { app: orders }
  data:
    - database: orders
      tables: ["public.*"]
  traffic:
    router: { kind: builtin, listen: "127.0.0.1:8080" }
    reads: { steps: [1, 5, 25, 50, 100], bake: 30s }
  analysis:
    interval: 5s
    checks:
      - { name: errors, metric: router.error_rate, max: 0.01, relativeToSource: { fail: 2.0 } }
  approvals:
    - { before: cutover, role: db-owner }
  rollback: { automatic: true }
`;

/** A secret the engine would have registered (the report's redactor knows it, the trail's did not). */
export const SECRET = 'sw0rdfish-7f3a9c';
/** A password inside a URL that nobody registered. */
export const URL_PASSWORD = 'hunter2-unregistered';

export interface SyntheticRuns {
  rolledBack: string;
  succeeded: string;
  /** Start of the first run (epoch ms). */
  start: number;
}

interface Writer {
  store: Store;
  bus: EventBus;
  runId: string;
  advance(ms: number): void;
  emit<T extends EventType>(type: T, data: EventPayloads[T], subject?: string, actor?: string): void;
  stage(name: string, body: () => void, state?: 'done' | 'failed'): void;
}

function sample(reads: [number, number, number], writes: [number, number, number], p50 = 12) {
  const cls = ([requests, errors, p99Ms]: [number, number, number]) => ({
    requests,
    errors,
    errorRate: requests === 0 ? null : errors / requests,
    p50Ms: requests === 0 ? null : p50,
    p99Ms: requests === 0 ? null : p99Ms,
  });
  return { reads: cls(reads), writes: cls(writes) };
}

function writeRun(
  store: Store,
  trail: AuditTrail,
  clock: { now: number },
  runId: string,
  story: (w: Writer) => void,
): void {
  const bus = createEventBus({ runId, now: () => new Date(clock.now) });
  const stop = auditEvents(bus, trail);
  store.runs.create({
    id: runId,
    planName: 'orders-to-gke',
    planHash: 'ab'.repeat(32),
    planFile: '/plans/orders.yaml',
    planText: PLAN_TEXT,
    until: null,
  });
  const w: Writer = {
    store,
    bus,
    runId,
    advance: (ms) => void (clock.now += ms),
    emit: (type, data, subject = '', actor = 'engine') => void bus.emit(type, data, { subject, actor }),
    stage(name, body, state = 'done') {
      store.steps.setStage(runId, name, 'running');
      store.runs.update(runId, { stage: name });
      w.emit('stage-started', { stage: name }, name);
      body();
      store.steps.setStage(runId, name, state);
      if (state === 'done') w.emit('stage-done', { stage: name }, name);
    },
  };
  w.emit('run-started', { plan: 'orders-to-gke', planHash: 'ab'.repeat(32), dryRun: false }, runId);
  story(w);
  stop();
}

function early(w: Writer, id: string): void {
  w.stage('preflight', () => {
    w.advance(1500);
    w.emit(
      'preflight-findings',
      {
        component: 'postgres:orders',
        findings: [
          {
            id: 'pg.sequences',
            severity: 'warning',
            subject: 'public.orders_id_seq',
            message: 'sequences are not replicated',
            remediation: 'handoff syncs them at cutover',
          },
          { id: 'pg.version', severity: 'info', subject: 'source', message: 'PostgreSQL 18.1', remediation: '' },
        ],
      },
      'orders',
    );
  });
  w.stage('provision', () => w.advance(4000));
  w.stage('replicate', () => {
    for (const lagMs of [2400, 1300, 600, 180, 60, 35]) {
      w.advance(2000);
      w.emit('replication-lag', { database: 'orders', lagMs }, 'orders');
    }
  });
  w.stage('verify', () => {
    w.advance(3000);
    w.emit(
      'verification-result',
      {
        database: 'orders',
        identical: true,
        rowsCompared: 24_000,
        elapsedMs: 2900,
        tables: [
          {
            table: 'public.orders',
            sourceRows: 20_000,
            targetRows: 20_000,
            mismatchedChunks: 0,
            missing: 0,
            extra: 0,
            changed: 0,
          },
          {
            table: 'public.accounts',
            sourceRows: 4000,
            targetRows: 4000,
            mismatchedChunks: 0,
            missing: 0,
            extra: 0,
            changed: 0,
          },
        ],
      },
      'orders',
    );
  });
  void id;
}

function weights(w: Writer, target: number, reason: string, writesTarget = 0): void {
  w.emit(
    'traffic-weights',
    { reads: { source: 1 - target, target }, writes: { source: 1 - writesTarget, target: writesTarget }, reason },
    'router',
  );
}

function traffic(
  w: Writer,
  targetShare: number,
  targetErrors: number,
  seconds: number,
  writesOn: 'source' | 'target' = 'source',
): void {
  for (let i = 0; i < seconds / 5; i++) {
    w.advance(5000);
    const reads = 400;
    const onTarget = Math.round(reads * targetShare);
    const writes = 100;
    w.emit(
      'traffic-sample',
      {
        windowMs: 5000,
        sites: {
          source: sample([reads - onTarget, 0, 38 + (i % 3)], writesOn === 'source' ? [writes, 0, 55] : [0, 0, 0]),
          target: sample(
            [onTarget, Math.round(onTarget * targetErrors), 44 + (i % 4)],
            writesOn === 'target' ? [writes, 0, 61] : [0, 0, 0],
          ),
        },
      },
      'router',
      'router',
    );
  }
}

export function writeSyntheticRuns(stateDir: string): SyntheticRuns {
  const clock = { now: Date.parse('2026-11-26T08:00:00.000Z') };
  const start = clock.now;
  const redactor = createRedactor(); // the writers' redactor does not know SECRET: the report's must hide it
  const store = openStore({ stateDir, create: true, redactor, now: () => new Date(clock.now) }) as Store;
  const trail = openAuditTrail({
    stateDir,
    redactor,
    onAppend: (head) => store.records.setAuditHead(head),
    now: () => new Date(clock.now),
  });
  try {
    writeRun(store, trail, clock, 'run-rolled-back', (w) => {
      early(w, w.runId);
      w.stage(
        'shift',
        () => {
          store.steps.intent(w.runId, 'shift', 'shift-reads', 1);
          weights(w, 0, 'routes set: everything on the source');
          for (const [share, errors] of [
            [0.01, 0],
            [0.05, 0],
            [0.25, 0.2],
          ] as const) {
            weights(w, share, `shift step to ${share * 100} %`);
            traffic(w, share, errors, 15);
          }
          const checks = [
            {
              check: 'errors',
              metric: 'router.error_rate',
              outcome: 'Fail',
              value: 0.2,
              sourceValue: 0,
              ratio: null,
              samples: 300,
              threshold: { max: 0.01, fail: 2, minSamples: 200 },
              reason: `target error rate 20 % > max 1 % (postgres://app:${URL_PASSWORD}@db.internal/orders)`,
            },
          ];
          w.emit(
            'gate-decided',
            { gate: 'shift', outcome: 'hold', reason: 'bake: 5 s of 30 s', reasons: ['bake: 5 s of 30 s'], checks: [] },
            'shift',
            'analysis',
          );
          w.emit(
            'gate-decided',
            {
              gate: 'shift',
              outcome: 'rollback',
              reason: 'check errors failed: target error rate 20 % > max 1 %',
              checks,
            },
            'shift',
            'analysis',
          );
          store.records.addGateDecision({
            runId: w.runId,
            stage: 'shift',
            outcome: 'Fail',
            reason: 'check errors failed: target error rate 20 % > max 1 %',
            details: checks,
            epoch: 1,
          });
          w.emit('gate-decided', { gate: 'shift', outcome: 'Fail', reason: 'check errors failed', checks }, 'shift');
          store.steps.failed(w.runId, 'shift', 'shift-reads', 1, `gate failed; token ${SECRET}`);
          w.emit('stage-failed', { stage: 'shift', error: `gate failed (token ${SECRET})` }, 'shift');
        },
        'failed',
      );
      const reason = 'check errors failed: target error rate 20 % > max 1 %';
      store.runs.update(w.runId, { state: 'rolling-back', reason });
      w.emit('rollback-started', { stage: 'shift', reason }, 'shift');
      w.advance(400);
      weights(w, 0, 'rollback: reads back on the source');
      traffic(w, 0, 0, 10);
      for (const stage of ['shift', 'verify', 'replicate', 'provision']) {
        w.advance(700);
        w.emit('stage-undo-started', { stage, reason }, stage);
        store.steps.setStage(w.runId, stage, 'undone', reason);
        w.emit('stage-undone', { stage }, stage);
      }
      w.emit(
        'cleanup-done',
        {
          what: ['subscription handoff_sub on target', 'publication handoff_pub on source', '2 target workloads'],
          leftBehind: ['replication slot handoff_slot on source (still active)'],
        },
        'replicate',
      );
      w.emit('rollback-done', { stage: 'shift' }, 'shift');
      store.runs.update(w.runId, { state: 'rolled-back', finished: true });
      w.emit('run-finished', { state: 'rolled-back', reason }, w.runId);
    });
    clock.now += 600_000;
    writeRun(store, trail, clock, 'run-succeeded', (w) => {
      early(w, w.runId);
      w.stage('shift', () => {
        weights(w, 0, 'routes set: everything on the source');
        for (const share of [0.01, 0.05, 0.25, 0.5, 1]) {
          weights(w, share, `shift step to ${share * 100} %`);
          traffic(w, share, 0, 10);
          w.emit('replication-lag', { database: 'orders', lagMs: 30 + share * 20 }, 'orders');
        }
        const checks = [
          {
            check: 'errors',
            metric: 'router.error_rate',
            outcome: 'Pass',
            value: 0,
            sourceValue: 0,
            ratio: null,
            samples: 1200,
            threshold: { max: 0.01, fail: 2, minSamples: 200 },
            reason: 'target error rate 0 % within max 1 %',
          },
        ];
        store.records.addGateDecision({
          runId: w.runId,
          stage: 'shift',
          outcome: 'Pass',
          reason: 'all 1 checks passed',
          details: checks,
          epoch: 1,
        });
        w.emit('gate-decided', { gate: 'shift', outcome: 'Pass', reason: 'all 1 checks passed', checks }, 'shift');
      });
      w.advance(20_000);
      store.requests.approve(w.runId, 'cutover', 'dana', 'db-owner');
      w.emit('approval-recorded', { stage: 'cutover', by: 'dana', role: 'db-owner' }, 'cutover', 'dana');
      w.stage('cutover', () => {
        w.advance(300);
        weights(w, 1, 'cutover: writes to the target', 1);
        w.emit('cutover-measured', { writePauseMs: 182, heldRequests: 37, failedRequests: 0, fenceMs: 240 }, 'cutover');
        w.emit(
          'verification-result',
          {
            database: 'orders',
            identical: true,
            rowsCompared: 24_310,
            elapsedMs: 140,
            tables: [
              {
                table: 'public.orders',
                sourceRows: 20_310,
                targetRows: 20_310,
                mismatchedChunks: 0,
                missing: 0,
                extra: 0,
                changed: 0,
              },
            ],
          },
          'orders',
        );
      });
      w.stage('bake', () => {
        traffic(w, 1, 0, 30, 'target');
        // The service had not left the old role by retireAfter: the rotation ended two of its sessions.
        w.emit('pg-credentials-retired', { database: 'orders', role: 'app_blue', terminated: 2 }, 'app_blue');
      });
      w.stage('finalize', () => {
        w.advance(2000);
        w.emit(
          'cleanup-done',
          {
            what: [
              'reverse subscription handoff_rev on source',
              'publication handoff_pub on source',
              'replication slot handoff_slot',
            ],
          },
          'finalize',
        );
      });
      store.runs.update(w.runId, { state: 'succeeded', finished: true });
      w.emit('run-finished', { state: 'succeeded' }, w.runId);
    });
  } finally {
    trail.close();
    store.close();
  }
  return { rolledBack: 'run-rolled-back', succeeded: 'run-succeeded', start };
}
