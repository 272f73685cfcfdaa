/**
 * The executor's retry policy over synthetic steps, read back from the real audit trail file: a
 * step that fails twice with a transient error and then succeeds completes without a rollback with
 * three attempts recorded; a non-retryable error fails at once; an exhausted policy fails with the
 * last cause; pause and abort requests end the wait between attempts; the stage's timeout bounds
 * the attempts; `retry: false` and `spec.retry.nonRetryable` stop retries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../../src/audit/trail.js';
import { AdapterError, InputError } from '../../src/common/errors.js';
import { createEventBus } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { executeRun, type RunOutcome } from '../../src/engine/executor.js';
import { auditEvents } from '../../src/engine/observers.js';
import type { Stage } from '../../src/engine/stage.js';
import type { Step } from '../../src/engine/step.js';
import { mapSecrets, testPlan } from '../../src/engine/testing.js';
import type { Migration, MigrationInput } from '../../src/plan/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { makeTempDir } from '../support/tmp.js';

const SECRET = 'pw-retry-5b1e9c';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface TrailRecord {
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

interface Harness {
  store: Store;
  stateDir: string;
  log: string[];
  exec(plan: Migration, stages: Stage[]): Promise<RunOutcome>;
  trail(): TrailRecord[];
}

function harness(plan: Migration): Harness {
  const tmp = makeTempDir('handoff-retry-');
  const stateDir = path.join(tmp.dir, 'state');
  const redactor = createRedactor([SECRET]);
  const store = openStore({ stateDir, create: true, redactor });
  if (!store) throw new Error('no store');
  cleanups.push(() => {
    store.close();
    tmp.cleanup();
  });
  store.runs.create({
    id: 'r1',
    planName: plan.metadata.name,
    planHash: 'h',
    planFile: '/p',
    planText: '',
    until: null,
  });
  const log: string[] = [];
  return {
    store,
    stateDir,
    log,
    async exec(runPlan, stages) {
      const trail = openAuditTrail({ stateDir, redactor });
      const events = createEventBus({ runId: 'r1' });
      const stop = auditEvents(events, trail);
      try {
        return await executeRun({
          store,
          runId: 'r1',
          plan: runPlan,
          stages,
          secrets: mapSecrets({}),
          redactor,
          logger: createSilentLogger(),
          events,
          mode: 'forward',
          pollMs: 20,
        });
      } finally {
        stop();
        trail.close();
      }
    },
    trail() {
      const text = fs.readFileSync(path.join(stateDir, 'audit', 'trail.jsonl'), 'utf8');
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as TrailRecord);
    },
  };
}

/** A step that throws the errors given, one per attempt, then succeeds; every attempt is logged. */
function flaky(log: string[], name: string, errors: Array<() => Error>, extra: Partial<Step> = {}): Step {
  let calls = 0;
  return {
    name,
    run(ctx) {
      calls += 1;
      log.push(`run ${name} #${calls}`);
      const next = errors[calls - 1];
      return next ? Promise.reject(next()) : Promise.resolve({ calls, signalAborted: ctx.signal.aborted });
    },
    undo() {
      log.push(`undo ${name}`);
      return Promise.resolve();
    },
    ...extra,
  };
}

const refused = (n: number) => (): Error =>
  new AdapterError(`postgresql://app:${SECRET}@db:5432/app: connection refused (attempt ${n})`, { retryable: true });

function retryPlan(retry: MigrationInput['spec']['retry'], spec: Partial<MigrationInput['spec']> = {}): Migration {
  return testPlan({ retry, ...spec });
}

function actions(records: TrailRecord[], action: string): TrailRecord[] {
  return records.filter((record) => record.action === action);
}

describe('executor retry policy', () => {
  it('completes a step that fails twice with a transient error, without a rollback, with three attempts in the audit trail', async () => {
    const plan = retryPlan({ initialInterval: '20ms', maximumInterval: '100ms', jitter: 0 });
    const h = harness(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [flaky(h.log, 'a', [])] },
      { name: 'provision', steps: [flaky(h.log, 'b', [refused(1), refused(2)])] },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run a #1', 'run b #1', 'run b #2', 'run b #3']);
    expect(h.store.steps.get('r1', 'provision', 'b')).toMatchObject({
      state: 'done',
      attempts: 3,
      result: { calls: 3 },
    });

    const records = h.trail();
    const key = 'r1/provision/b';
    expect(
      actions(records, 'step-intent')
        .filter((r) => r.subject === key)
        .map((r) => r.details.attempt ?? 1),
    ).toEqual([1, 2, 3]);
    const failed = actions(records, 'step-attempt-failed');
    expect(
      failed.map((r) => [r.subject, r.details.attempt, r.details.code, r.details.delayMs, r.details.next]),
    ).toEqual([
      [key, 1, 'adapter', 20, 'retry'],
      [key, 2, 'adapter', 40, 'retry'],
    ]);
    expect(failed[1]?.details.error).toMatch(/connection refused \(attempt 2\)/);
    expect(actions(records, 'step-done').find((r) => r.subject === key)?.details.attempts).toBe(3);
    expect(records.map((r) => r.action)).not.toContain('rollback-started');
    expect(records.map((r) => r.action)).not.toContain('step-failed');
    expect(h.log.some((line) => line.startsWith('undo'))).toBe(false);
    expect(fs.readFileSync(path.join(h.stateDir, 'audit', 'trail.jsonl'), 'utf8')).not.toContain(SECRET);
  });

  it('runs every attempt with the same idempotency key and the state the earlier attempts recorded, so a side effect is not repeated', async () => {
    const plan = retryPlan({ initialInterval: '10ms', jitter: 0 });
    const h = harness(plan);
    const effects: string[] = [];
    const keys: string[] = [];
    let calls = 0;
    const step: Step = {
      name: 'two-effects',
      run(ctx) {
        calls += 1;
        keys.push(ctx.key);
        if (!ctx.state.get<boolean>('first-effect')) {
          effects.push('first');
          ctx.state.set('first-effect', true);
        }
        if (calls < 3) return Promise.reject(refused(calls)());
        effects.push('second');
        return Promise.resolve({ calls });
      },
    };
    const outcome = await h.exec(plan, [{ name: 'provision', steps: [step] }]);
    expect(outcome.run.state).toBe('succeeded');
    expect(effects).toEqual(['first', 'second']);
    expect(keys).toEqual(['r1/provision/two-effects', 'r1/provision/two-effects', 'r1/provision/two-effects']);
  });

  it('fails at once, with one attempt, on an error that is not transient', async () => {
    const plan = retryPlan({ initialInterval: '20ms', jitter: 0 });
    const h = harness(plan);
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [flaky(h.log, 'a', [() => new InputError('spec.data[0]: table public.t is missing on the target')])],
      },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.run.state).toBe('rolled-back');
    expect(outcome.run.error).toBe(
      'step a of stage preflight failed: spec.data[0]: table public.t is missing on the target [input.invalid]',
    );
    expect(h.log).toEqual(['run a #1', 'undo a']);
    const records = h.trail();
    expect(actions(records, 'step-intent')).toHaveLength(1);
    expect(
      actions(records, 'step-attempt-failed').map((r) => [
        r.details.attempt,
        r.details.code,
        r.details.delayMs,
        r.details.next,
      ]),
    ).toEqual([[1, 'input.invalid', null, 'not-transient']]);
    expect(h.store.steps.get('r1', 'preflight', 'a')).toMatchObject({ state: 'undone', attempts: 1 });
  });

  it('fails with the last cause when the policy is exhausted', async () => {
    const plan = retryPlan({ initialInterval: '10ms', backoffCoefficient: 3, maximumAttempts: 3 });
    const h = harness(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [flaky(h.log, 'a', [refused(1), refused(2), refused(3), refused(4)])] },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.run.state).toBe('rolled-back');
    expect(outcome.run.error).toMatch(
      /^step a of stage preflight failed \(after 3 attempts\): .*connection refused \(attempt 3\) \[adapter\]$/,
    );
    expect(outcome.run.error).not.toContain(SECRET);
    expect(h.log).toEqual(['run a #1', 'run a #2', 'run a #3', 'undo a']);
    const failed = actions(h.trail(), 'step-attempt-failed');
    expect(failed.map((r) => [r.details.attempt, r.details.next])).toEqual([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'exhausted'],
    ]);
    // Jittered (20 % by default) below 10 ms and 30 ms.
    const delays = failed.map((r) => r.details.delayMs);
    expect(delays[0]).toBeGreaterThanOrEqual(8);
    expect(delays[0]).toBeLessThanOrEqual(10);
    expect(delays[1]).toBeGreaterThanOrEqual(24);
    expect(delays[1]).toBeLessThanOrEqual(30);
    expect(delays[2]).toBeNull();
  });

  it('takes a pause request during the wait between attempts; the step stays an intent and resume runs it again', async () => {
    const plan = retryPlan({ initialInterval: '30s', maximumInterval: '30s' });
    const h = harness(plan);
    const step = flaky(h.log, 'a', [
      () => {
        h.store.requests.request('r1', 'pause', 'alice');
        return refused(1)();
      },
    ]);
    const stages: Stage[] = [{ name: 'preflight', steps: [step] }];
    const started = Date.now();
    const first = await h.exec(plan, stages);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(first.run).toMatchObject({ state: 'paused', reason: 'paused by alice' });
    expect(h.store.steps.get('r1', 'preflight', 'a')?.state).toBe('intent');
    expect(actions(h.trail(), 'step-attempt-failed').map((r) => r.details.next)).toEqual(['retry']);

    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run a #1', 'run a #2']);
    expect(h.log).not.toContain('undo a');
  });

  it('takes an abort request during the wait between attempts', async () => {
    const plan = retryPlan({ initialInterval: '30s', maximumInterval: '30s' });
    const h = harness(plan);
    const step = flaky(h.log, 'a', [
      () => {
        h.store.requests.request('r1', 'abort', 'carol');
        return refused(1)();
      },
    ]);
    const started = Date.now();
    const outcome = await h.exec(plan, [{ name: 'preflight', steps: [step] }]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome.run).toMatchObject({ state: 'aborted', reason: 'aborted by carol' });
    expect(h.log).toEqual(['run a #1']);
  });

  it('takes a rollback request during the wait between attempts and undoes the step once', async () => {
    const plan = retryPlan({ initialInterval: '30s', maximumInterval: '30s' });
    const h = harness(plan);
    const step = flaky(h.log, 'a', [
      () => {
        h.store.requests.request('r1', 'rollback', 'dana');
        return refused(1)();
      },
    ]);
    const started = Date.now();
    const outcome = await h.exec(plan, [{ name: 'preflight', steps: [step] }]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome.run.state).toBe('rolled-back');
    expect(h.log).toEqual(['run a #1', 'undo a']);
  });

  it('does not retry a step that says retry: false, nor an error code the plan lists as non-retryable', async () => {
    const plan = retryPlan({ initialInterval: '10ms', nonRetryable: ['40001'] });
    const h = harness(plan);
    const serialization = (): Error => Object.assign(new Error('could not serialize access'), { code: '40001' });
    const stages: Stage[] = [
      { name: 'preflight', steps: [flaky(h.log, 'once', [refused(1)], { retry: false })] },
      { name: 'provision', steps: [flaky(h.log, 'listed', [serialization])] },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run.state).toBe('rolled-back');
    expect(h.log).toEqual(['run once #1', 'undo once']);
    expect(actions(h.trail(), 'step-attempt-failed').map((r) => [r.details.maxAttempts, r.details.next])).toEqual([
      [1, 'exhausted'],
    ]);

    const plan2 = retryPlan({ initialInterval: '10ms', nonRetryable: ['40001'] }, { rollback: { automatic: false } });
    const h2 = harness(plan2);
    const second = await h2.exec(plan2, [{ name: 'provision', steps: [flaky(h2.log, 'listed', [serialization])] }]);
    expect(second.run.state).toBe('paused');
    expect(h2.log).toEqual(['run listed #1']);
    expect(actions(h2.trail(), 'step-attempt-failed').map((r) => [r.details.code, r.details.next])).toEqual([
      ['40001', 'non-retryable-code'],
    ]);
  });

  it('overrides the plan defaults with the step own policy, and retries a raw transient PostgreSQL error', async () => {
    const plan = retryPlan({ initialInterval: '10ms', maximumAttempts: 2, jitter: 0 });
    const h = harness(plan);
    const shutdown = (): Error =>
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const step = flaky(h.log, 'a', [shutdown, shutdown, shutdown], {
      retry: { maximumAttempts: 4, initialIntervalMs: 5 },
    });
    const outcome = await h.exec(plan, [{ name: 'preflight', steps: [step] }]);
    expect(outcome.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run a #1', 'run a #2', 'run a #3', 'run a #4']);
    expect(actions(h.trail(), 'step-attempt-failed').map((r) => [r.details.code, r.details.delayMs])).toEqual([
      ['57P01', 5],
      ['57P01', 10],
      ['57P01', 20],
    ]);
  });

  it('bounds all attempts of a step by the stage timeout: no retry when the wait would pass it', async () => {
    const plan = retryPlan(
      { initialInterval: '5s', maximumInterval: '5s' },
      { stages: [{ name: 'preflight', timeout: '1s' }] },
    );
    const h = harness(plan);
    const started = Date.now();
    const outcome = await h.exec(plan, [{ name: 'preflight', steps: [flaky(h.log, 'a', [refused(1)])] }]);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcome.run.state).toBe('rolled-back');
    expect(h.log).toEqual(['run a #1', 'undo a']);
    expect(actions(h.trail(), 'step-attempt-failed').map((r) => r.details.next)).toEqual(['stage-timeout']);
  });
});
