import path from 'node:path';
import Database from 'better-sqlite3';
import { openAuditTrail } from '../src/audit/trail.js';
import { createEventBus } from '../src/common/events.js';
import { createSilentLogger } from '../src/common/logger.js';
import { createRedactor } from '../src/common/redact.js';
import { executeRun } from '../src/engine/executor.js';
import { auditEvents } from '../src/engine/observers.js';
import { mapSecrets, testPlan } from '../src/engine/testing.js';
import type { Stage } from '../src/engine/stage.js';
import { openStore } from '../src/store/store.js';
import { makeTempDir } from '../test/support/tmp.js';
import type { Benchmark } from './harness.js';

const STEPS = 200;

/** The floor: two durable SQLite commits per step (intent, done) with WAL and synchronous=FULL. */
function baselineMs(dir: string): number {
  const db = new Database(path.join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE steps (key TEXT PRIMARY KEY, state TEXT)');
  const insert = db.prepare("INSERT INTO steps VALUES (?, 'intent')");
  const done = db.prepare("UPDATE steps SET state = 'done' WHERE key = ?");
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) {
    db.transaction(() => insert.run(`k${i}`)).immediate();
    db.transaction(() => done.run(`k${i}`)).immediate();
  }
  const elapsed = performance.now() - start;
  db.close();
  return elapsed;
}

async function engineMs(dir: string, audited: boolean): Promise<number> {
  const redactor = createRedactor();
  const stateDir = path.join(dir, audited ? 'audited' : 'plain');
  const store = openStore({ stateDir, create: true, redactor });
  if (!store) throw new Error('no store');
  store.runs.create({ id: 'bench', planName: 'bench', planHash: 'h', planFile: '/p', planText: '', until: null });
  const events = createEventBus({ runId: 'bench' });
  const trail = audited
    ? openAuditTrail({ stateDir, redactor, onAppend: (head) => store.records.setAuditHead(head) })
    : null;
  if (trail) auditEvents(events, trail);
  const stages: Stage[] = [
    {
      name: 'preflight',
      steps: Array.from({ length: STEPS }, (_, i) => ({ name: `s${i}`, run: () => Promise.resolve(null) })),
    },
  ];
  const start = performance.now();
  const outcome = await executeRun({
    store,
    runId: 'bench',
    plan: testPlan(),
    stages,
    secrets: mapSecrets({}),
    redactor,
    logger: createSilentLogger(),
    events,
    mode: 'forward',
  });
  const elapsed = performance.now() - start;
  if (outcome.run.state !== 'succeeded') throw new Error(`bench run ended ${outcome.run.state}`);
  trail?.close();
  store.close();
  return elapsed;
}

/** What the executor costs per step (intent and done, fenced by the lease; with and without the audit trail). */
export const engineBenchmark: Benchmark = {
  name: 'engine',
  async run() {
    const tmp = makeTempDir('handoff-bench-engine-');
    try {
      const floor = baselineMs(tmp.dir);
      const plain = await engineMs(tmp.dir, false);
      const audited = await engineMs(tmp.dir, true);
      const perStep = (ms: number): number => ms / STEPS;
      return {
        benchmark: 'engine',
        baseline: 'two bare durable SQLite commits per step (WAL, synchronous=FULL), same disk, same run',
        measurements: [
          { name: 'baseline per step', value: perStep(floor), unit: 'ms' },
          { name: 'executor per step (store only)', value: perStep(plain), unit: 'ms' },
          { name: 'executor per step (store and audit trail)', value: perStep(audited), unit: 'ms' },
        ],
        ratios: {
          'executor/baseline': plain / Math.max(floor, 0.001),
          'executor+audit/baseline': audited / Math.max(floor, 0.001),
        },
        targets: [
          {
            name: 'engine overhead per step',
            target: 'under 50 ms per step with the audit trail (steps themselves take seconds)',
            met: perStep(audited) < 50,
          },
        ],
        notes: [
          `${STEPS} no-op steps in one stage; each step writes intent and done in fenced transactions and emits two events`,
        ],
      };
    } finally {
      tmp.cleanup();
    }
  },
};
