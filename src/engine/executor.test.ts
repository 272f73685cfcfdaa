import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdapterError } from '../common/errors.js';
import { createEventBus, type HandoffEvent } from '../common/events.js';
import { createSilentLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import type { Migration } from '../plan/schema.js';
import { openStore, type Store } from '../store/store.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { executeRun, type ExecuteOptions } from './executor.js';
import { mapSecrets, testPlan } from './testing.js';
import type { Step } from './step.js';
import type { GateResult, Stage } from './stage.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Harness {
  store: Store;
  log: string[];
  events: HandoffEvent[];
  step(
    name: string,
    options?: { fail?: () => boolean; undoFails?: boolean; wait?: (signal: AbortSignal) => Promise<void> },
  ): Step;
  exec(plan: Migration, stages: Stage[], extra?: Partial<ExecuteOptions>): ReturnType<typeof executeRun>;
  newRun(plan: Migration, until?: string): void;
  /** Listens to the run's events as they are emitted; returns the function that stops listening. */
  on(listener: (event: HandoffEvent) => void): () => void;
  /** The same, with the events of one batch together. */
  onMany(listener: (events: HandoffEvent[]) => void): () => void;
}

function harness(): Harness {
  const tmp = makeTempDir('handoff-exec-');
  const store = openStore({ stateDir: path.join(tmp.dir, 'state'), create: true, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  cleanups.push(() => {
    store.close();
    tmp.cleanup();
  });
  const log: string[] = [];
  const events: HandoffEvent[] = [];
  const bus = createEventBus({ runId: 'r1' });
  bus.on((event) => events.push(event));
  return {
    store,
    log,
    events,
    step: (name, options = {}) => ({
      name,
      async run(ctx) {
        log.push(`run ${ctx.stage}/${name}`);
        if (options.wait) await options.wait(ctx.signal);
        if (options.fail?.()) throw new Error(`${name} broke`);
        return { name };
      },
      undo(ctx) {
        log.push(`undo ${ctx.stage}/${name}`);
        return options.undoFails ? Promise.reject(new Error('undo broke')) : Promise.resolve();
      },
    }),
    on: (listener) => bus.on(listener),
    onMany: (listener) => bus.onMany(listener),
    exec: (plan, stages, extra = {}) =>
      executeRun({
        store,
        runId: 'r1',
        plan,
        stages,
        secrets: mapSecrets({}),
        redactor: createRedactor(),
        logger: createSilentLogger(),
        events: bus,
        mode: 'forward',
        pollMs: 20,
        ...extra,
      }),
    newRun(plan, until) {
      store.runs.create({
        id: 'r1',
        planName: plan.metadata.name,
        planHash: 'h',
        planFile: '/p',
        planText: '',
        until: until ?? null,
      });
    },
  };
}

const always = (): boolean => true;

describe('executeRun', () => {
  it('runs every step in order, records intent then done, and finishes succeeded', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a'), h.step('b')] },
      { name: 'provision', skip: 'nothing to provision', steps: [h.step('never')] },
      { name: 'finalize', steps: [h.step('c')] },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.completed).toBe(true);
    expect(outcome.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run preflight/a', 'run preflight/b', 'run finalize/c']);
    expect(h.store.steps.list('r1').map((s) => [s.key, s.state, s.epoch])).toEqual([
      ['r1/preflight/a', 'done', 1],
      ['r1/preflight/b', 'done', 1],
      ['r1/finalize/c', 'done', 1],
    ]);
    const types = h.events.map((e) => `${e.type} ${e.subject}`);
    expect(types.indexOf('step-intent r1/preflight/a')).toBeLessThan(types.indexOf('step-done r1/preflight/a'));
    expect(types).toContain('stage-skipped provision');
    expect(types.at(-1)).toBe('run-finished ');
    expect(h.store.steps.stages('r1').map((s) => [s.stage, s.state])).toEqual([
      ['preflight', 'done'],
      ['provision', 'skipped'],
      ['finalize', 'done'],
    ]);
  });

  it("writes a step's done with the next step's intent (one commit, one batch of events), before that step acts", async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    const states: string[] = [];
    const seen = (): string =>
      h.store.steps
        .list('r1')
        .map((s) => `${s.step}:${s.state}`)
        .join(' ');
    const batches: string[][] = [];
    h.onMany((events) => batches.push(events.map((e) => `${e.type} ${e.subject}`)));
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [h.step('a'), { name: 'b', run: () => (states.push(`b runs: ${seen()}`), Promise.resolve({})) }],
        gate: () => (states.push(`gate: ${seen()}`), Promise.resolve({ outcome: 'Pass', reason: 'fine' })),
      },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.run.state).toBe('succeeded');
    expect(states).toEqual(['b runs: a:done b:intent', 'gate: a:done b:done']);
    expect(batches).toContainEqual(['step-done r1/preflight/a', 'step-intent r1/preflight/b']);
    // The last step's done is written alone, before the gate.
    expect(batches).toContainEqual(['step-done r1/preflight/b']);
  });

  it('undoes every step that may have acted, in reverse order, when a step fails and rollback is automatic', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a'), h.step('b')] },
      { name: 'provision', steps: [h.step('c'), h.step('d', { fail: always }), h.step('e')] },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.completed).toBe(false);
    expect(outcome.run.state).toBe('rolled-back');
    expect(outcome.run.error).toMatch(/step d of stage provision failed: d broke/);
    expect(h.log).toEqual([
      'run preflight/a',
      'run preflight/b',
      'run provision/c',
      'run provision/d',
      'undo provision/d',
      'undo provision/c',
      'undo preflight/b',
      'undo preflight/a',
    ]);
    expect(h.store.steps.list('r1').every((s) => s.state === 'undone')).toBe(true);
    expect(h.events.map((e) => e.type)).toContain('rollback-done');
  });

  it('pauses on a failed step without automatic rollback, and resume replays that step only', async () => {
    const h = harness();
    const plan = testPlan({ rollback: { automatic: false } });
    h.newRun(plan);
    let broken = true;
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a'), h.step('b', { fail: () => broken }), h.step('c')] },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run.state).toBe('paused');
    expect(first.run.reason).toMatch(
      /step b of stage preflight failed: b broke; fix the cause and `handoff resume r1`/,
    );
    broken = false;
    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run preflight/a', 'run preflight/b', 'run preflight/b', 'run preflight/c']);
    expect(h.store.steps.get('r1', 'preflight', 'b')).toMatchObject({ attempts: 2, epoch: 2, state: 'done' });
  });

  it('stops after the --until stage as paused and goes on from there on resume', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan, 'provision');
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a')] },
      { name: 'provision', steps: [h.step('b')] },
      { name: 'cutover', steps: [h.step('c')] },
    ];
    const first = await h.exec(plan, stages);
    expect(first).toMatchObject({ completed: true, run: { state: 'paused', reason: 'until provision', until: null } });
    expect(h.log).toEqual(['run preflight/a', 'run provision/b']);
    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run preflight/a', 'run provision/b', 'run cutover/c']);
  });

  it('pauses at the --until stage on resume when a kill fell between its end and its pause', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan, 'provision');
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a')] },
      { name: 'provision', steps: [h.step('b')] },
      { name: 'cutover', steps: [h.step('c')] },
    ];
    // What a SIGKILL right after provision's stage-done leaves: the stage done, the run not paused.
    h.store.steps.setStage('r1', 'preflight', 'done');
    h.store.steps.setStage('r1', 'provision', 'done');
    const resumed = await h.exec(plan, stages);
    expect(resumed).toMatchObject({
      completed: true,
      run: { state: 'paused', reason: 'until provision', until: null },
    });
    expect(h.log).toEqual([]);
    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run cutover/c']);
  });

  it('takes a pause request at the next step boundary, and resume goes on', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    const stages: Stage[] = [
      {
        name: 'preflight',
        steps: [
          h.step('a', {
            wait: () => {
              h.store.requests.request('r1', 'pause', 'alice');
              return Promise.resolve();
            },
          }),
          h.step('b'),
        ],
      },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run).toMatchObject({ state: 'paused', reason: 'paused by alice' });
    expect(h.log).toEqual(['run preflight/a']);
    // The step that ended before the request is recorded done: resume does not run it again.
    expect(h.store.steps.get('r1', 'preflight', 'a')?.state).toBe('done');
    expect(h.store.requests.pending('r1')).toEqual([]);
    const second = await h.exec(plan, stages, { actor: 'bob' });
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run preflight/a', 'run preflight/b']);
    expect(h.events.find((e) => e.type === 'run-resumed')?.actor).toBe('bob');
  });

  it('waits for an approval within its bound, pauses when the bound passes, and goes on once approved', async () => {
    const h = harness();
    const plan = testPlan({ approvals: [{ before: 'cutover', role: 'db-owner', timeout: '200ms' }] });
    h.newRun(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a')] },
      { name: 'cutover', steps: [h.step('b')] },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run).toMatchObject({ state: 'paused', stage: 'cutover' });
    expect(first.run.reason).toMatch(/waiting for approval of stage cutover by role db-owner/);
    expect(h.log).toEqual(['run preflight/a']);
    // An approval that arrives while the run waits lets it go on (given when the wait begins, not
    // after a fixed delay, which a stalled test process could let run past the 200 ms bound).
    cleanups.push(
      h.on((event) => {
        if (event.type === 'approval-waiting') h.store.requests.approve('r1', 'cutover', 'carol', 'db-owner');
      }),
    );
    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('succeeded');
    expect(h.log).toEqual(['run preflight/a', 'run cutover/b']);
  });

  it('aborts where it is on an abort request (interrupting the step), and a later rollback undoes what was done', async () => {
    const h = harness();
    const plan = testPlan({ rollback: { automatic: true } });
    h.newRun(plan);
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('a')] },
      {
        name: 'provision',
        steps: [
          h.step('b', {
            wait: (signal) =>
              new Promise<void>((_resolve, reject) => {
                h.store.requests.request('r1', 'abort', 'dave');
                signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true });
              }),
          }),
          h.step('c'),
        ],
      },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run).toMatchObject({ state: 'aborted', reason: 'aborted by dave' });
    expect(h.log).toEqual(['run preflight/a', 'run provision/b']);
    expect(h.store.steps.get('r1', 'provision', 'b')?.state).toBe('intent');
    await expect(h.exec(plan, stages)).rejects.toThrow(/aborted; there is nothing to resume/);
    const back = await h.exec(plan, stages, { mode: 'rollback', actor: 'dave' });
    expect(back).toMatchObject({ completed: true, run: { state: 'rolled-back' } });
    expect(h.log.slice(2)).toEqual(['undo provision/b', 'undo preflight/a']);
    await expect(h.exec(plan, stages, { mode: 'rollback' })).rejects.toThrow(/rolled-back; only a/);
  });

  it('aborts on an abort request that arrives while a stage gate measures, recording no gate decision', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    const stages: Stage[] = [
      {
        name: 'shift',
        steps: [h.step('a')],
        gate: (ctx) =>
          new Promise<GateResult>((_resolve, reject) => {
            h.store.requests.request('r1', 'abort', 'erin');
            ctx.signal.addEventListener('abort', () => reject(new Error('measurement interrupted')), { once: true });
          }),
      },
    ];
    const first = await h.exec(plan, stages);
    expect(first.run).toMatchObject({ state: 'aborted', reason: 'aborted by erin' });
    expect(h.store.records.gateDecisions('r1')).toEqual([]);
  });

  it('rolls back on a failed gate, pauses on an inconclusive one, and records every decision', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    let result: GateResult = { outcome: 'Inconclusive', reason: 'too few samples', checks: [{ samples: 3 }] };
    const stages: Stage[] = [{ name: 'shift', steps: [h.step('a')], gate: () => Promise.resolve(result) }];
    const first = await h.exec(plan, stages);
    expect(first.run.state).toBe('paused');
    expect(first.run.reason).toMatch(/decided Inconclusive: too few samples/);
    result = { outcome: 'Fail', reason: 'error rate 5% > 1%' };
    const second = await h.exec(plan, stages);
    expect(second.run.state).toBe('rolled-back');
    expect(h.log).toEqual(['run shift/a', 'undo shift/a']);
    expect(h.store.records.gateDecisions('r1').map((d) => d.outcome)).toEqual(['Inconclusive', 'Fail']);
  });

  it('ends failed, saying where, when an undo fails; a second rollback finishes the job', async () => {
    const h = harness();
    const plan = testPlan();
    h.newRun(plan);
    let undoFails = true;
    const flaky: Step = {
      name: 'flaky',
      run: () => Promise.resolve(null),
      undo: () => (undoFails ? Promise.reject(new Error('still attached')) : Promise.resolve()),
    };
    const stages: Stage[] = [{ name: 'preflight', steps: [h.step('a'), flaky, h.step('z', { fail: always })] }];
    const first = await h.exec(plan, stages);
    expect(first.run.state).toBe('failed');
    expect(first.run.error).toMatch(/undo of r1\/preflight\/flaky failed: still attached/);
    undoFails = false;
    const second = await h.exec(plan, stages, { mode: 'rollback' });
    expect(second.run.state).toBe('rolled-back');
    expect(h.log).toEqual(['run preflight/a', 'run preflight/z', 'undo preflight/z', 'undo preflight/a']);
  });

  it('fails a step that outlasts its stage timeout, aborting its signal, even if it ignores the signal', async () => {
    const h = harness();
    const plan = testPlan({ stages: [{ name: 'provision', timeout: '100ms' }], rollback: { automatic: false } });
    h.newRun(plan);
    let aborted: unknown = null;
    const stages: Stage[] = [
      { name: 'preflight', steps: [h.step('quick')] },
      {
        name: 'provision',
        steps: [
          {
            name: 'stuck',
            run: (ctx) =>
              new Promise<void>(() => {
                ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason), { once: true });
              }),
          },
        ],
      },
    ];
    const outcome = await h.exec(plan, stages);
    expect(outcome.run.state).toBe('paused');
    expect(outcome.run.error).toMatch(
      /step stuck of stage provision took longer than its bound of 100 ms \(spec.stages\[\].timeout\) \[timeout\]/,
    );
    expect(aborted).toBeInstanceOf(Error);
    expect(h.store.steps.get('r1', 'provision', 'stuck')?.state).toBe('failed');
  });

  it("names the stage's bound when a retried step runs out of it, not what was left of it", async () => {
    const h = harness();
    const plan = testPlan({
      stages: [{ name: 'provision', timeout: '300ms' }],
      rollback: { automatic: false },
      retry: { initialInterval: '10ms', maximumAttempts: 3 },
    });
    h.newRun(plan);
    let attempts = 0;
    const stages: Stage[] = [
      {
        name: 'provision',
        steps: [
          {
            name: 'flaky-then-stuck',
            async run() {
              attempts++;
              if (attempts === 1) {
                await new Promise((resolve) => setTimeout(resolve, 50));
                throw new AdapterError('connection reset', { retryable: true });
              }
              return new Promise<void>(() => undefined);
            },
          },
        ],
      },
    ];
    const outcome = await h.exec(plan, stages);
    expect(attempts).toBe(2);
    expect(outcome.run.state).toBe('paused');
    expect(outcome.run.error).toMatch(/step flaky-then-stuck of stage provision took longer than its bound of 300 ms/);
  });
});
