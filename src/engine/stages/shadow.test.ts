import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GateFailedError, HoldRunError } from '../../common/errors.js';
import { createEventBus, type HandoffEvent } from '../../common/events.js';
import { createSilentLogger } from '../../common/logger.js';
import { createRedactor } from '../../common/redact.js';
import { createFakeDataPlane, createFakeWorld } from '../../data/fake/fake-data-plane.js';
import type { MigrationInput } from '../../plan/schema.js';
import { readEvidenceFile } from '../../shadow/evidence-file.js';
import { createFakeShadow, type FakeShadowFeed } from '../../shadow/fake-shadow.js';
import { routerCapabilityFindings } from '../../traffic/capability-findings.js';
import { createFakeRouter } from '../../traffic/fake/fake-router.js';
import type { TrafficRouter } from '../../traffic/router.js';
import { createRuntime } from '../runtime.js';
import type { StepContext } from '../step.js';
import { mapSecrets, testPlan } from '../testing.js';
import { defaultRegistry } from './index.js';
import { shadowStage } from './shadow.js';
import { makeTempDir } from '../../../test/support/tmp.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const shadow = { share: 0.2, duration: '10ms', budget: { maxDiffRate: 0.01, minSamples: 100 } };
const traffic = (extra: Record<string, unknown> = {}): MigrationInput['spec']['traffic'] => ({
  router: { kind: 'builtin', listen: '127.0.0.1:3' },
  shadow: { ...shadow, ...extra } as never,
});

/** A router whose shadow is fed `batch` outcomes the first time the stage polls it. */
function feedingRouter(batch: FakeShadowFeed[]): { router: TrafficRouter; calls: string[] } {
  const fake = createFakeShadow();
  const router = createFakeRouter();
  let fed = false;
  return {
    calls: fake.calls,
    router: {
      ...router,
      shadow: {
        ...fake,
        status: async (after) => {
          if (!fed) fake.feed(batch);
          fed = true;
          return fake.status(after);
        },
      },
    },
  };
}

function context(plan: ReturnType<typeof testPlan>, events: HandoffEvent[]): StepContext {
  const bus = createEventBus({ runId: 'run-1' });
  bus.on((e) => events.push(e));
  const values = new Map<string, unknown>();
  return {
    runId: 'run-1',
    stage: 'shadow',
    key: 'run-1/shadow/compare',
    epoch: 1,
    plan,
    events: bus,
    logger: createSilentLogger(),
    redactor: createRedactor(),
    secrets: mapSecrets({}),
    signal: new AbortController().signal,
    state: { get: <T>(k: string) => values.get(k) as T | undefined, set: (k, v) => void values.set(k, v) },
  };
}

async function runStage(spec: Partial<MigrationInput['spec']>, batch: FakeShadowFeed[]) {
  const tmp = makeTempDir('handoff-shadow-stage');
  cleanups.push(() => tmp.cleanup());
  const plan = testPlan(spec);
  const { router, calls } = feedingRouter(batch);
  const world = createFakeWorld();
  const data = { ...createFakeDataPlane(world), lag: async () => 3 };
  const runtime = createRuntime({ stateDir: tmp.dir, overrides: { router, dataPlane: data } });
  const stage = shadowStage(plan, { checkpoint: () => {}, runtime });
  const events: HandoffEvent[] = [];
  const ctx = context(plan, events);
  const step = stage.steps[0];
  if (step === undefined) throw new Error('no step');
  const outcome = await step.run(ctx).then(
    (result) => ({ result, error: null }),
    (error: unknown) => ({ result: null, error }),
  );
  return { outcome, events, calls, evidence: readEvidenceFile(tmp.dir, 'run-1'), stateDir: tmp.dir };
}

const same = (n: number): FakeShadowFeed[] => Array.from({ length: n }, () => ({ endpoint: 'GET /orders/:id' }));

describe('the shadow stage', () => {
  it('exists only when the plan asks for it, between verify and shift', () => {
    const runtime = createRuntime({ stateDir: '/nonexistent/handoff-shadow-test' });
    const names = (spec: Partial<MigrationInput['spec']>) =>
      defaultRegistry(testPlan(spec), { checkpoint: () => {}, runtime }).map((s) => s.name);
    expect(names({ traffic: { router: { kind: 'builtin', listen: '127.0.0.1:3' } } })).not.toContain('shadow');
    const with_ = names({ traffic: traffic() });
    expect(with_.slice(with_.indexOf('verify'), with_.indexOf('verify') + 3)).toEqual(['verify', 'shadow', 'shift']);
  });

  it('preflight blocks shadow reads on a router that cannot mirror, or warns and skips as the plan chooses', () => {
    const gateway = { kind: 'gateway-api', route: 'orders' } as const;
    const fail = testPlan({ traffic: { router: gateway, shadow: { share: 0.1 } } });
    expect(routerCapabilityFindings(fail.spec).find((f) => f.id === 'router.cannot-mirror')).toMatchObject({
      severity: 'blocker',
    });
    const skip = testPlan({ traffic: { router: gateway, shadow: { share: 0.1, onUnsupported: 'skip' } } });
    expect(routerCapabilityFindings(skip.spec).find((f) => f.id === 'router.cannot-mirror')).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('will be skipped'),
    });
    const runtime = createRuntime({ stateDir: '/nonexistent/handoff-shadow-test' });
    expect(shadowStage(skip, { checkpoint: () => {}, runtime }).skip).toContain('cannot mirror');
    expect(routerCapabilityFindings(testPlan({ traffic: traffic() }).spec)).toEqual([]);
  });

  it('passes within the budget and records the verdict; the watermark follows the lag heartbeat', async () => {
    const spec = {
      source: { platform: { kind: 'local' as const }, databases: { a: { url: { fromEnv: 'A' } } } },
      target: { platform: { kind: 'local' as const }, databases: { a: { url: { fromEnv: 'B' } } } },
      data: [{ database: 'a' }],
      traffic: traffic(),
    };
    const { outcome, events, calls, evidence } = await runStage(spec, same(150));
    expect(outcome.error).toBeNull();
    expect(outcome.result).toMatchObject({ outcome: 'Pass', diffRate: 0, compared: 150 });
    expect(calls[0]).toBe('start');
    expect(calls[calls.length - 1]).toBe('stop');
    // One watermark per tick, and a last one before the verdict.
    expect(calls.filter((c) => c === 'watermark').length).toBeGreaterThanOrEqual(2);
    const verdict = events.find((e) => e.type === 'shadow-verdict');
    expect(verdict?.data).toMatchObject({ outcome: 'Pass', metric: 'shadow.diff_rate', samples: 150, threshold: 0.01 });
    expect(evidence).toEqual([]);
  });

  it('fails above the budget naming the endpoint and path, with every difference in the evidence file', async () => {
    const batch = [
      ...same(140),
      ...Array.from({ length: 10 }, () => ({ endpoint: 'GET /orders/:id', paths: ['$.price'] })),
    ];
    const { outcome, events, evidence } = await runStage({ traffic: traffic() }, batch);
    expect(outcome.error).toBeInstanceOf(GateFailedError);
    const message = (outcome.error as Error).message;
    expect(message).toContain('GET /orders/:id at $.price (10)');
    expect(message).toContain('shadow/run-1.jsonl');
    expect(evidence).toHaveLength(10);
    expect(evidence[0]).toMatchObject({ method: 'GET', paths: ['$.price'] });
    expect(events.find((e) => e.type === 'shadow-verdict')?.data).toMatchObject({ outcome: 'Fail' });
  });

  it('does not count noise: differences on fields that differed between two source answers', async () => {
    const batch = [
      { endpoint: 'GET /orders/:id', noisePaths: ['$.servedAt'] },
      ...Array.from({ length: 149 }, () => ({ endpoint: 'GET /orders/:id', paths: ['$.servedAt'] })),
    ];
    const { outcome } = await runStage({ traffic: traffic() }, batch);
    expect(outcome.error).toBeNull();
    expect(outcome.result).toMatchObject({ outcome: 'Pass', differences: 0 });
  });

  it('holds the run when too few reads were compared', async () => {
    const { outcome } = await runStage(
      { traffic: traffic({ budget: { minSamples: 1000, maxDuration: '10ms' } }) },
      same(5),
    );
    expect(outcome.error).toBeInstanceOf(HoldRunError);
    expect((outcome.error as Error).message).toContain('5 reads compared, 1000 needed');
  });
});

it('keeps the evidence file private to its owner', async () => {
  const { stateDir } = await runStage({ traffic: traffic() }, same(150));
  expect(fs.statSync(`${stateDir}/shadow/run-1.jsonl`).mode & 0o077).toBe(0);
});
