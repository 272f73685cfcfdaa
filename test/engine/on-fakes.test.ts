/**
 * The engine on fakes: the real default registry, planner and executor, with every adapter an
 * in-memory fake given to the runtime (data plane, router, platforms, metric providers). Stage
 * ordering, gate decisions, rollback order, pause and resume, approvals and the cutover's phases,
 * each in milliseconds. The real-server drills (test/engine/drills*.test.ts) stay.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createFakeProvider, ok } from '../../src/analysis/providers/fake.js';
import { createEventBus, type HandoffEvent } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import type { DataPlane } from '../../src/data/data-plane.js';
import { createFakeDataPlane, createFakeWorld, type FakeWorld } from '../../src/data/fake/fake-data-plane.js';
import { executeRun, type RunOutcome } from '../../src/engine/executor.js';
import { planRun } from '../../src/engine/planner.js';
import { createRuntime, type Runtime } from '../../src/engine/runtime.js';
import { defaultRegistry } from '../../src/engine/stages/index.js';
import { mapSecrets, testPlan } from '../../src/engine/testing.js';
import { createFakePlatform } from '../../src/platforms/fake/fake-platform.js';
import type { MigrationInput } from '../../src/plan/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { createFakeRouter, type FakeRouter } from '../../src/traffic/fake/fake-router.js';
import type { TrafficRouter } from '../../src/traffic/router.js';
import { makeTempDir } from '../support/tmp.js';

const RUN = 'r1';
const TABLE = 'public.items';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
const suiteStarted = performance.now();
afterAll(() => {
  process.stderr.write(`engine-on-fakes suite: ${Math.round(performance.now() - suiteStarted)} ms in all\n`);
});

const TRAFFIC: NonNullable<MigrationInput['spec']['traffic']> = {
  router: { kind: 'builtin', listen: '127.0.0.1:0' },
  reads: { steps: [100], bake: '60ms' },
  cutover: { maxHold: '2s', maxLagToStart: '1s' },
};

/** A plan with data, the built-in router, gates and workloads; every bound small (fakes answer at once). */
function fakePlan(spec: Partial<MigrationInput['spec']> = {}) {
  return testPlan({
    source: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'SOURCE_DB' } } } },
    target: { platform: { kind: 'local' }, databases: { shop: { url: { fromEnv: 'TARGET_DB' } } } },
    workloads: { processes: [{ name: 'svc', command: 'true' }] },
    data: [{ database: 'shop', tables: [TABLE] }],
    traffic: TRAFFIC,
    analysis: { interval: '20ms', minSamples: 1, checks: [{ name: 'errors', metric: 'router.error_rate', max: 0.05 }] },
    ...spec,
  });
}

interface World {
  store: Store;
  data: FakeWorld;
  router: FakeRouter;
  /** One timeline: the data plane's step runs and undos, the router's hold/release/setRoutes, the platforms' calls. */
  timeline: string[];
  events: HandoffEvent[];
  /** The target's error rate the fake metric provider reports from now on. */
  targetErrorRate: number;
  /** A runtime over the fakes (a fresh data plane over the same world unless one is given). */
  runtime(dataPlane?: DataPlane, withRouter?: boolean): Runtime;
  exec(
    plan: ReturnType<typeof fakePlan>,
    options?: { dataPlane?: DataPlane; mode?: 'forward' | 'rollback'; withRouter?: boolean },
  ): Promise<RunOutcome>;
}

function world(): World {
  const tmp = makeTempDir('handoff-fakes-');
  const store = openStore({ stateDir: path.join(tmp.dir, 'state'), create: true, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  const data = createFakeWorld([TABLE]);
  const timeline = data.journal;
  const router = createFakeRouter();
  // Traffic through the router while the run goes on: what the gates' router checks and the share check measure.
  const traffic = setInterval(() => {
    router.simulate({ cls: 'reads', count: 40 });
    router.simulate({ cls: 'writes', count: 10 });
  }, 5);
  const noted = <K extends 'hold' | 'release' | 'setRoutes'>(method: K): TrafficRouter[K] =>
    ((...args: unknown[]) => {
      timeline.push(method === 'setRoutes' ? `router setRoutes ${JSON.stringify(args[0])}` : `router ${method}`);
      return (router[method] as (...a: unknown[]) => unknown)(...args);
    }) as TrafficRouter[K];
  const routerView: TrafficRouter = {
    ...router,
    hold: noted('hold'),
    release: noted('release'),
    setRoutes: noted('setRoutes'),
  };
  const events: HandoffEvent[] = [];
  const state: World = {
    store,
    data,
    router,
    timeline,
    events,
    targetErrorRate: 0,
    runtime: (dataPlane, withRouter = true) =>
      createRuntime({
        stateDir: path.join(tmp.dir, 'state'),
        overrides: {
          ...(withRouter ? { router: routerView } : {}),
          dataPlane: dataPlane ?? createFakeDataPlane(data),
          platforms: {
            source: createFakePlatform({ site: 'source', replicas: 2, journal: timeline }),
            target: createFakePlatform({ site: 'target', journal: timeline }),
          },
          // A recorded series per gate check: both sites healthy, the target at `targetErrorRate` when it is asked.
          metricProviders: (check) =>
            createFakeProvider({
              fields: [check.field],
              series: Array.from({ length: 10_000 }, () => ({
                source: ok({ [check.field]: 0 }, 500),
                get target() {
                  return ok({ [check.field]: state.targetErrorRate }, 500);
                },
              })),
            }),
        },
      }),
    async exec(plan, options = {}) {
      if (!store.runs.get(RUN))
        store.runs.create({
          id: RUN,
          planName: plan.metadata.name,
          planHash: 'h',
          planFile: '/p',
          planText: '',
          until: null,
        });
      const runtime = state.runtime(options.dataPlane, options.withRouter ?? true);
      const bus = createEventBus({ runId: RUN });
      bus.on((event) => void events.push(event));
      const stages = defaultRegistry(plan, { checkpoint: () => {}, runtime });
      try {
        return await executeRun({
          store,
          runId: RUN,
          plan,
          stages,
          secrets: mapSecrets({ 'source.shop': 'fake://source', 'target.shop': 'fake://target' }),
          redactor: createRedactor(),
          logger: createSilentLogger(),
          events: bus,
          mode: options.mode ?? 'forward',
          pollMs: 10,
        });
      } finally {
        await runtime.close();
      }
    },
  };
  cleanups.push(() => {
    clearInterval(traffic);
    store.close();
    tmp.cleanup();
  });
  return state;
}

/** Index of the first timeline entry matching, or -1. */
const at = (timeline: string[], pattern: RegExp): number => timeline.findIndex((entry) => pattern.test(entry));
const stagesOf = (w: World) => w.store.steps.stages(RUN).map((s) => [s.stage, s.state]);

describe('the engine on fakes', () => {
  it('runs the eight stages in pipeline order to success, the planner listing exactly the steps that ran', async () => {
    const w = world();
    const plan = fakePlan();
    const outcome = await w.exec(plan);
    expect(outcome.run.state).toBe('succeeded');
    expect(stagesOf(w)).toEqual(
      ['preflight', 'provision', 'replicate', 'verify', 'shift', 'cutover', 'bake', 'finalize'].map((s) => [s, 'done']),
    );
    // The data plane's, router's and platforms' work in stage order.
    const order = [
      /platform target provision/,
      /run fake-shop-prepare/,
      /run fake-shop-verify/,
      /router setRoutes \{"reads":\{"source":0/,
      /run fake-shop-lag-check/,
      /platform source quiesce/,
      /run fake-shop-drain-reverse/,
    ];
    const positions = order.map((pattern) => at(w.timeline, pattern));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const planned = planRun({ plan, stages: defaultRegistry(plan, { checkpoint: () => {}, runtime: w.runtime() }) });
    const ran = w.store.steps.list(RUN).map((s) => `${s.stage}/${s.step}`);
    expect(ran).toEqual(
      planned.stages.filter((s) => !s.skip).flatMap((s) => s.steps.map((step) => `${s.name}/${step.name}`)),
    );
    expect(w.data.target.fences.size).toBe(0);
    expect(w.data.source.fences.size).toBe(1); // the old source stays fenced after finalize
  });

  it('runs a plan without a traffic section (data only) to success, never asking for a router', async () => {
    const w = world();
    const plan = fakePlan({ traffic: undefined, analysis: undefined });
    // No router override: a step that asked the runtime for a router would build the plan's (it has none) and fail.
    const outcome = await w.exec(plan, { withRouter: false });
    expect(outcome.run.error).toBeNull();
    expect(outcome.run.state).toBe('succeeded');
    const skipped = w.store.steps
      .stages(RUN)
      .filter((s) => s.state === 'skipped')
      .map((s) => s.stage);
    expect(skipped).toEqual(['shift', 'cutover', 'bake']);
    expect(w.timeline.some((entry) => entry.startsWith('router '))).toBe(false);
  });

  it('advances through every shift step whose gate passes, with a gate decision per step', async () => {
    const w = world();
    const outcome = await w.exec(fakePlan({ traffic: { ...TRAFFIC, reads: { steps: [50, 100], bake: '60ms' } } }));
    expect(outcome.run.state).toBe('succeeded');
    const decisions = w.events
      .filter((e) => e.type === 'gate-decided')
      .map((e) => [(e.data as { gate: string }).gate, (e.data as { outcome: string }).outcome]);
    expect(decisions.filter(([, outcome]) => outcome === 'advance').map(([gate]) => gate)).toEqual([
      'shift-50',
      'shift-100',
      'bake',
    ]);
    expect(decisions.some(([, outcome]) => outcome === 'rollback')).toBe(false);
  });

  it('rolls back on a failing gate: weights back to the source first, then the data plane undone in reverse', async () => {
    const w = world();
    w.targetErrorRate = 0.5;
    const outcome = await w.exec(fakePlan({ traffic: { ...TRAFFIC, reads: { steps: [50, 100], bake: '60ms' } } }));
    expect(outcome.run.state).toBe('rolled-back');
    expect(outcome.run.error).toMatch(/gate shift-50 failed/);
    const failedAt = at(w.timeline, /router setRoutes \{"reads":\{"source":0.5/);
    // (Lag measurements run beside the gate: left out of the order.)
    const undo = w.timeline.slice(failedAt + 1).filter((entry) => !entry.startsWith('lag '));
    expect(undo[0]).toBe('router setRoutes {"reads":{"source":1,"target":0}}');
    const dataUndos = undo.filter((entry) => entry.startsWith('undo '));
    expect(dataUndos).toEqual([
      'undo fake-shop-dirty-tracking',
      'undo fake-shop-subscribe',
      'undo fake-shop-fence-target',
      'undo fake-shop-prepare',
    ]);
    expect(at(undo, /platform target teardown/)).toBeGreaterThan(at(undo, /undo fake-shop-prepare/));
    expect(at(w.timeline, /run fake-shop-lag-check/)).toBe(-1); // cutover never started
    expect(w.data.streams.size).toBe(0);
    expect(w.data.target.fences.size + w.data.source.fences.size).toBe(0);
  });

  it('with rollback.shiftGate hold, a failing shift gate moves the reads back and holds the run; resume retries the step', async () => {
    const w = world();
    w.targetErrorRate = 0.5;
    const plan = fakePlan({
      traffic: { ...TRAFFIC, reads: { steps: [50, 100], bake: '60ms' } },
      rollback: { automatic: true, shiftGate: 'hold' },
    });
    const held = await w.exec(plan);
    expect(held.run.state).toBe('paused');
    expect(held.run.reason).toMatch(/holds the run: gate shift-50 failed: .*; reads are back on the source/);
    const toHalf = /router setRoutes \{"reads":\{"source":0.5/;
    const back = w.timeline.slice(at(w.timeline, toHalf) + 1).filter((entry) => !entry.startsWith('lag '));
    expect(back).toEqual(['router setRoutes {"reads":{"source":1,"target":0}}']);
    // Nothing else undone: replication goes on, no fence, the target's workloads stay.
    expect(w.data.streams.size).toBe(1);
    expect(w.events.some((e) => e.type === 'rollback-started')).toBe(false);
    const reasons = w.events
      .filter((e) => e.type === 'traffic-weights')
      .map((e) => (e.data as { reason: string }).reason);
    expect(reasons).toContain('rollback: reads back on the source (from the 50 % step)');

    w.targetErrorRate = 0;
    const resumed = await w.exec(plan);
    expect(resumed.run.state).toBe('succeeded');
    expect(w.timeline.filter((entry) => toHalf.test(entry))).toHaveLength(2);
  });

  it('takes a pause between steps, and resume goes on without running a finished step again', async () => {
    const w = world();
    const fake = createFakeDataPlane(w.data);
    const pausing: DataPlane = {
      ...fake,
      verificationSteps: (entry) =>
        fake.verificationSteps(entry).map((step) => ({
          ...step,
          run: (ctx) => {
            w.store.requests.request(RUN, 'pause', 'alice');
            return step.run(ctx);
          },
        })),
    };
    const plan = fakePlan();
    const first = await w.exec(plan, { dataPlane: pausing });
    expect(first.run).toMatchObject({ state: 'paused', reason: 'paused by alice', stage: 'verify' });
    expect(at(w.timeline, /router/)).toBe(-1);
    const second = await w.exec(plan);
    expect(second.run.state).toBe('succeeded');
    const runs = w.timeline.filter((entry) => entry.startsWith('run '));
    expect(new Set(runs).size).toBe(runs.length);
  });

  it('waits for an approval before cutover, changing nothing, then proceeds once approved', async () => {
    const w = world();
    const plan = fakePlan({ approvals: [{ before: 'cutover', role: 'db-owner', timeout: '50ms' }] });
    const first = await w.exec(plan);
    expect(first.run).toMatchObject({ state: 'paused', stage: 'cutover' });
    expect(first.run.reason).toMatch(/waiting for approval of stage cutover by role db-owner/);
    expect(at(w.timeline, /run fake-shop-lag-check|router hold/)).toBe(-1);
    expect(w.data.appWrite('source', TABLE, 'k', 'v')).toBe(true); // the source still takes writes
    w.store.requests.approve(RUN, 'cutover', 'carol', 'db-owner');
    const second = await w.exec(plan);
    expect(second.run.state).toBe('succeeded');
    expect(at(w.timeline, /run fake-shop-fence-source/)).toBeGreaterThan(0);
  });

  it('runs the cutover phases in order with the hold around exactly the underHold steps', async () => {
    const w = world();
    const outcome = await w.exec(fakePlan());
    expect(outcome.run.state).toBe('succeeded');
    const start = at(w.timeline, /run fake-shop-lag-check/);
    const cutover = w.timeline.slice(start, at(w.timeline, /platform source quiesce|run fake-shop-drain-reverse/));
    expect(cutover.filter((entry) => !entry.startsWith('router setRoutes') || entry.includes('"writes"'))).toEqual([
      'run fake-shop-lag-check',
      'run fake-shop-settle-dirty',
      'router hold',
      'run fake-shop-fence-source',
      'run fake-shop-retire-forward',
      'run fake-shop-start-reverse',
      'run fake-shop-open-target',
      'router setRoutes {"reads":{"source":0,"target":1},"writes":{"source":0,"target":1}}',
      'router release',
      'run fake-shop-drop-retired-forward',
    ]);
  });

  it('fails back on a failing bake gate: requests held again, all traffic back on the source, then the cutover undone in reverse', async () => {
    const w = world();
    const plan = fakePlan({
      stages: [
        { name: 'bake', analysis: { checks: [{ name: 'bake-errors', metric: 'router.error_rate', max: 0.05 }] } },
      ],
    });
    const fake = createFakeDataPlane(w.data);
    // The target breaks once it takes writes.
    const breaking: DataPlane = {
      ...fake,
      cutoverSteps: (entry) => {
        const phases = fake.cutoverSteps(entry);
        return {
          ...phases,
          afterHold: phases.afterHold.map((s) => ({
            ...s,
            run: async (ctx) => ((w.targetErrorRate = 0.5), s.run(ctx)),
          })),
        };
      },
    };
    const outcome = await w.exec(plan, { dataPlane: breaking });
    expect(outcome.run.state).toBe('rolled-back');
    expect(outcome.run.error).toMatch(/gate bake failed/);
    const back = w.timeline
      .slice(at(w.timeline, /run fake-shop-drop-retired-forward/) + 1)
      .filter((entry) => !entry.startsWith('lag '));
    expect(back.slice(0, 2)).toEqual([
      'router hold',
      'router setRoutes {"reads":{"source":1,"target":0},"writes":{"source":1,"target":0}}',
    ]);
    expect(back.filter((e) => e.startsWith('undo ')).slice(0, 4)).toEqual([
      'undo fake-shop-open-target',
      'undo fake-shop-start-reverse',
      'undo fake-shop-retire-forward',
      'undo fake-shop-fence-source',
    ]);
    expect(at(back, /router release/)).toBeGreaterThan(at(back, /undo fake-shop-fence-source/));
    // The whole run is undone: the source takes writes again, nothing of handoff is left.
    expect(w.data.appWrite('source', TABLE, 'after', 'x')).toBe(true);
    expect(w.data.streams.size).toBe(0);
    expect(w.data.source.fences.size + w.data.target.fences.size).toBe(0);
  });
});
