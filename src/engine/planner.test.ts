import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { createRuntime } from './runtime.js';
import { formatRunPlan, planRun } from './planner.js';
import { defaultRegistry } from './stages/index.js';
import { mapSecrets, testPlan } from './testing.js';
import { createEventBus } from '../common/events.js';
import { createSilentLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import type { StepContext } from './step.js';

// Planning makes no adapter and writes nothing: a runtime over a directory that is never created.
const deps = {
  checkpoint: () => {},
  runtime: createRuntime({ stateDir: path.join(os.tmpdir(), 'handoff-planner-test-never-written') }),
};

describe('planRun', () => {
  it('lists the eight stages with skip reasons for a plan without data, traffic or processes', () => {
    const plan = testPlan();
    const result = planRun({ plan, stages: defaultRegistry(plan, deps) });
    expect(result.stages.map((s) => [s.name, s.skip])).toEqual([
      ['preflight', null],
      ['provision', 'the target is a local site with no processes'],
      ['replicate', 'the plan has no data section'],
      ['verify', 'the plan has no data section'],
      ['shift', 'the plan has no traffic section'],
      ['cutover', 'the plan has no traffic section'],
      ['bake', 'the plan has no traffic section: nothing to bake'],
      ['finalize', null],
    ]);
    expect(result.stages[0]?.steps[0]?.name).toBe('resolve-secrets');
    expect(result.runId).toBeNull();
    expect(formatRunPlan(result)).toMatch(/2\. provision \(skipped: the target is a local site with no processes\)/);
  });

  it('shows approvals, the --until stop and which steps of an observed run are done or replay', () => {
    const plan = testPlan({ approvals: [{ before: 'finalize', role: 'db-owner', timeout: '5m' }] });
    const stages = defaultRegistry(plan, deps);
    const result = planRun({
      plan,
      stages,
      until: 'preflight',
      observed: {
        id: 'r9',
        state: 'paused',
        stages: [{ runId: 'r9', stage: 'preflight', state: 'running', reason: null, startedAt: '', finishedAt: null }],
        steps: [
          {
            runId: 'r9',
            stage: 'preflight',
            step: 'resolve-secrets',
            key: 'r9/preflight/resolve-secrets',
            seq: 1,
            epoch: 1,
            state: 'intent',
            attempts: 1,
            result: null,
            error: null,
            intentAt: '',
            doneAt: null,
            undoneAt: null,
          },
        ],
        approvals: [],
      },
    });
    expect(result.stages[0]?.status).toBe('in-progress');
    expect(result.stages[0]?.steps[0]).toMatchObject({ key: 'r9/preflight/resolve-secrets', status: 'replay' });
    expect(result.stages[0]?.steps.slice(1).every((step) => step.status === 'pending')).toBe(true);
    expect(result.stages[7]?.approvals).toEqual([{ role: 'db-owner', timeoutMs: 300_000, approvedBy: null }]);
    expect(result.until).toBe('preflight');
  });

  it('is pure: the same input gives the same output', () => {
    const plan = testPlan();
    const stages = defaultRegistry(plan, deps);
    expect(planRun({ plan, stages })).toEqual(planRun({ plan, stages }));
  });
});

describe('defaultRegistry', () => {
  const ctx = (plan = testPlan()): StepContext => ({
    runId: 'r',
    stage: 'preflight',
    key: 'r/preflight/x',
    epoch: 1,
    plan,
    events: createEventBus(),
    logger: createSilentLogger(),
    redactor: createRedactor(),
    secrets: mapSecrets({}),
    signal: new AbortController().signal,
    state: { get: () => undefined, set: () => {} },
  });

  it('builds real steps: the kubernetes platform refuses an unknown kubeconfig context, so does the gateway-api router', async () => {
    const plan = testPlan({
      source: {
        platform: { kind: 'kubernetes', context: 'a', namespace: 'n' },
        databases: { orders: { url: { fromEnv: 'A' } } },
      },
      target: {
        platform: { kind: 'kubernetes', context: 'b', namespace: 'n' },
        databases: { orders: { url: { fromEnv: 'B' } } },
      },
      data: [{ database: 'orders' }],
      traffic: { router: { kind: 'gateway-api', route: 'orders' } },
    });
    const tmp = makeTempDir();
    try {
      const stages = defaultRegistry(plan, { ...deps, runtime: createRuntime({ stateDir: tmp.dir }) });
      // A weights-only router cannot move reads first: only the shift is skipped.
      expect(stages.filter((stage) => stage.skip).map((s) => s.name)).toEqual(['shift']);
      const byName = Object.fromEntries(stages.map((s) => [s.name, s]));
      const platform = byName.preflight?.steps.find((s) => s.name === 'platform-preflight');
      // The kubernetes platform is built: it reads the kubeconfig, where context "a" does not exist (bad input, named).
      await expect(platform?.run(ctx(plan))).rejects.toBeInstanceOf(InputError);
      await expect(platform?.run(ctx(plan))).rejects.toThrow(
        /kubeconfig context "a" does not exist|cannot read the kubeconfig/,
      );
      await expect(byName.provision?.steps[0]?.run(ctx(plan))).rejects.toThrow(
        /kubeconfig context "a" does not exist|cannot read the kubeconfig/,
      );
      // The gateway-api driver is built too: its route lives in the source's context, which the kubeconfig lacks.
      const route = byName.cutover?.steps.find((s) => s.name === 'route-to-target');
      await expect(route?.run(ctx(plan))).rejects.toThrow(
        /kubeconfig context "a" does not exist|cannot read the kubeconfig/,
      );
      expect(byName.replicate?.steps.map((s) => s.name)).toContain('pg-orders-initial-copy');
      expect(byName.cutover?.steps.map((s) => s.name)).toEqual(
        expect.arrayContaining(['pg-orders-fence-source', 'route-to-target']),
      );
    } finally {
      tmp.cleanup();
    }
  });

  it('plans a plan with data and traffic through the runtime without making anything (dry run)', () => {
    const plan = testPlan({
      source: { platform: { kind: 'local' }, databases: { orders: { url: { fromEnv: 'A' } } } },
      target: { platform: { kind: 'local' }, databases: { orders: { url: { fromEnv: 'B' } } } },
      data: [{ database: 'orders' }],
      traffic: { router: { kind: 'builtin', listen: '127.0.0.1:1' } },
    });
    const stages = defaultRegistry(plan, deps);
    expect(stages.find((s) => s.name === 'verify')?.steps.map((s) => s.name)).toEqual(['verify-orders']);
    expect(stages.find((s) => s.name === 'finalize')?.steps.map((s) => s.name)).toContain('drain-reverse-orders');
    expect(fs.existsSync(deps.runtime.stateDir)).toBe(false);
  });

  it('plans database access: provision-access first in replicate, rotate-credentials once as the bake starts', () => {
    const plan = testPlan({
      source: { platform: { kind: 'local' }, databases: { orders: { url: { fromEnv: 'A' } } } },
      target: { platform: { kind: 'local' }, databases: { orders: { url: { fromEnv: 'B' } } } },
      data: [
        {
          database: 'orders',
          access: {
            provision: true,
            rotation: { group: 'app', roles: ['app_blue', 'app_green'], password: { fromEnv: 'NEXT' } },
          },
        },
      ],
      traffic: { router: { kind: 'builtin', listen: '127.0.0.1:1' } },
    });
    const stages = defaultRegistry(plan, deps);
    expect(stages.find((s) => s.name === 'replicate')?.steps[0]?.name).toBe('pg-orders-provision-access');
    expect(stages.find((s) => s.name === 'bake')?.steps.map((s) => s.name)).toEqual([
      'pg-orders-rotate-credentials',
      'bake-on-target',
    ]);
    const without = testPlan({ ...plan.spec, data: [{ database: 'orders' }] });
    expect(
      defaultRegistry(without, deps)
        .find((s) => s.name === 'bake')
        ?.steps.map((s) => s.name),
    ).toEqual(['bake-on-target']);
  });

  it('resolves every secret in preflight and fails on one that is missing', async () => {
    const plan = testPlan({
      source: { platform: { kind: 'local' }, databases: { app: { url: { fromEnv: 'A' } } } },
      target: { platform: { kind: 'local' }, databases: { app: { url: { fromEnv: 'B' } } } },
    });
    const step = defaultRegistry(plan, deps)[0]?.steps[0];
    const good = { ...ctx(plan), secrets: mapSecrets({ 'source.app': 'postgres://a', 'target.app': 'postgres://b' }) };
    await expect(step?.run(good)).resolves.toEqual({ resolved: 2 });
    await expect(step?.run(ctx(plan))).rejects.toThrow(/no secret for source.app/);
  });

  it('skips a stage the plan says to skip', () => {
    const plan = testPlan({ stages: [{ name: 'finalize', skip: true }] });
    expect(defaultRegistry(plan, deps).at(-1)?.skip).toBe('skipped by the plan (spec.stages: finalize)');
  });
});
