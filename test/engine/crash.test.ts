/**
 * Crash safety: the executor process is SIGKILLed at every step boundary in turn (after each
 * committed intent, after each side effect, after each committed done, and at stage boundaries),
 * then the plan is run again (which resumes its unfinished run). Every time, the end state is the
 * one of an uninterrupted run, no side effect is applied twice, no step that was recorded done runs
 * again, and the audit trail verifies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStateAuditHead } from '../../src/audit/state-head.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { createRedactor } from '../../src/common/redact.js';
import { openStore } from '../../src/store/store.js';
import { runEngineChild } from '../support/engine-process.js';
import { makeTempDir } from '../support/tmp.js';

const PLAN = `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: crash-test
spec:
  source: { platform: { kind: local } }
  target: { platform: { kind: local } }
  rollback: { automatic: true }
`;

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function scenario(registry = 'crash'): { dir: string; env: Record<string, string> } {
  const tmp = makeTempDir('handoff-crash-');
  cleanups.push(tmp.cleanup);
  const effects = path.join(tmp.dir, 'effects');
  fs.mkdirSync(effects);
  fs.writeFileSync(path.join(tmp.dir, 'plan.yaml'), PLAN);
  return {
    dir: tmp.dir,
    env: {
      CHILD_MODE: 'start',
      CHILD_PLAN: path.join(tmp.dir, 'plan.yaml'),
      CHILD_STATE: path.join(tmp.dir, 'state'),
      CHILD_EFFECTS: effects,
      CHILD_REGISTRY: registry,
    },
  };
}

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function counts(items: string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const item of items) map.set(item.replace(/^[^/]+\//, ''), (map.get(item.replace(/^[^/]+\//, '')) ?? 0) + 1);
  return map;
}

interface EndState {
  run: string;
  effects: string[];
  undone: string[];
  steps: Array<[string, string]>;
  stages: Array<[string, string]>;
}

function endState(dir: string): EndState {
  const store = openStore({ stateDir: path.join(dir, 'state'), create: false, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  try {
    const [run] = store.runs.list();
    if (!run) throw new Error('no run');
    return {
      run: run.state,
      // Keys without the run id, so runs of different scenarios compare.
      effects: lines(path.join(dir, 'effects', 'effects.log'))
        .map((key) => key.replace(/^[^/]+\//, ''))
        .sort(),
      undone: lines(path.join(dir, 'effects', 'undone.log')).map((key) => key.replace(/^[^/]+\//, '')),
      steps: store.steps.list(run.id).map((step) => [`${step.stage}/${step.step}`, step.state]),
      stages: store.steps.stages(run.id).map((stage) => [stage.stage, stage.state]),
    };
  } finally {
    store.close();
  }
}

describe('SIGKILL at every step boundary, then resume', () => {
  it('reaches the same end state with no side effect applied twice', { timeout: 600_000 }, async () => {
    const base = scenario();
    const clean = await runEngineChild({ env: base.env });
    expect(clean.result, clean.stderr).toMatchObject({ state: 'succeeded', completed: true });
    const expected = endState(base.dir);
    expect(expected.effects).toHaveLength(4);
    const points = clean.boundaries;
    expect(points.filter((point) => point.startsWith('effect '))).toHaveLength(4);
    expect(points.length).toBe(19);

    // Two scenarios at a time (each is a killed process and a resuming one).
    await inPairs([...points.entries()], ([index, point]) => killAndResume('crash', index + 1, point, expected));
  });

  it('finishes an interrupted rollback, undoing each step once, in reverse order', { timeout: 600_000 }, async () => {
    const base = scenario('crash-rollback');
    const clean = await runEngineChild({ env: base.env });
    expect(clean.result, clean.stderr).toMatchObject({ state: 'rolled-back', completed: false });
    const expected = endState(base.dir);
    expect(expected.undone).toEqual([
      'cutover/verify-writes',
      'cutover/switch-writes',
      'cutover/fence-source',
      'provision/create-workload',
      'preflight/check-sites',
    ]);
    expect(expected.steps.every(([, state]) => state === 'undone')).toBe(true);
    const points = clean.boundaries;
    const from = points.findIndex((point) => point.startsWith('step-failed '));
    expect(from).toBeGreaterThan(0);
    const rollbackPoints = [...points.entries()].slice(from);
    expect(rollbackPoints.filter(([, point]) => point.startsWith('undo-effect '))).toHaveLength(5);
    await inPairs(rollbackPoints, ([index, point]) => killAndResume('crash-rollback', index + 1, point, expected));
  });
});

/** Runs the scenarios two at a time (each is a killed process and a resuming one). */
async function inPairs<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await fn(next);
  };
  await Promise.all([worker(), worker()]);
}

async function killAndResume(registry: string, n: number, point: string, expected: EndState): Promise<void> {
  const { dir, env } = scenario(registry);
  const killed = await runEngineChild({ env: { ...env, CHILD_BLOCK_AT: String(n) }, killWhenBlocked: true });
  expect(killed.signal, `boundary ${n} (${point})`).toBe('SIGKILL');
  expect(killed.stdout).toContain(`BLOCKED ${n}`);
  expect(killed.result).toBeNull();

  const resumed = await runEngineChild({ env });
  expect(resumed.result, `resume after boundary ${n} (${point}): ${resumed.stderr.slice(-2000)}`).toMatchObject({
    state: expected.run,
  });
  const state = endState(dir);
  expect(state, `end state after a kill at boundary ${n} (${point})`).toEqual(expected);

  // A step (or its undo) runs again only when the kill fell between its intent and its record.
  const [type, subject] = point.split(' ');
  const key = (subject ?? '').replace(/^[^/]+\//, '');
  const failedAgain = type === 'step-failed' ? key : null;
  for (const [step, times] of counts(lines(path.join(dir, 'effects', 'attempts.log')))) {
    const again = (type === 'effect' && key === step) || failedAgain === step;
    expect(times, `attempts of ${step} after a kill at ${point}`).toBe(again ? 2 : 1);
  }
  for (const [step, times] of counts(lines(path.join(dir, 'effects', 'undo-attempts.log')))) {
    expect(times, `undo attempts of ${step} after a kill at ${point}`).toBe(
      type === 'undo-effect' && key === step ? 2 : 1,
    );
  }

  const stateDir = path.join(dir, 'state');
  const head = readStateAuditHead(stateDir);
  const audit = verifyAuditTrail(stateDir, head ? { expectedHead: head } : {});
  expect(audit.valid, `audit after a kill at ${point}: ${audit.reason}`).toBe(true);
}
