/**
 * Whole-run telemetry on fakes: a real run through startRun (the real executor, default registry,
 * audit trail) with every adapter an in-memory fake given to the runtime, traffic flowing through
 * the fake router all the while. The replicate and verify steps take over a second each (as a real
 * copy does), so the engine's sampler (engine/traffic-telemetry.ts) must have watched the service
 * during them; status and explain must then show it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeProvider, ok } from '../../src/analysis/providers/fake.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { sleep } from '../../src/common/net.js';
import { createRedactor } from '../../src/common/redact.js';
import type { DataPlane } from '../../src/data/data-plane.js';
import { createFakeDataPlane, createFakeWorld } from '../../src/data/fake/fake-data-plane.js';
import { explainRun, formatExplanation } from '../../src/engine/explain.js';
import { createRuntime } from '../../src/engine/runtime.js';
import type { EngineEnv } from '../../src/engine/run-session.js';
import { startRun } from '../../src/engine/start.js';
import { describeRun } from '../../src/engine/status.js';
import type { Step } from '../../src/engine/step.js';
import { createFakePlatform } from '../../src/platforms/fake/fake-platform.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { createFakeRouter } from '../../src/traffic/fake/fake-router.js';
import type { TrafficSampleEvent } from '../../src/report/events.js';
import { TRAFFIC_BASELINE_KEY, type TrafficBaseline } from '../../src/data/throttle/baseline.js';
import { cli, jsonOf } from './explain-support.js';
import { makeTempDir } from '../support/tmp.js';

const TABLE = 'public.items';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const PLAN = `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: telemetry-on-fakes }
spec:
  source: { platform: { kind: local }, endpoint: "http://127.0.0.1:18091", databases: { shop: { url: { fromEnv: SOURCE_DB } } } }
  target: { platform: { kind: local }, endpoint: "http://127.0.0.1:18092", databases: { shop: { url: { fromEnv: TARGET_DB } } } }
  workloads: { processes: [{ name: svc, command: "true" }] }
  data: [{ database: shop, tables: ["${TABLE}"] }]
  traffic:
    router: { kind: builtin, listen: "127.0.0.1:0" }
    reads: { steps: [100], bake: 60ms }
    cutover: { maxHold: 2s, maxLagToStart: 1s }
  analysis:
    interval: 20ms
    minSamples: 1
    checks: [{ name: errors, metric: router.error_rate, max: 0.05 }]
`;

/** The first step of each list takes `ms` before it acts, as a real copy or comparison does. */
function slowFirst(steps: Step[], ms: number): Step[] {
  return steps.map((step, index) =>
    index === 0 ? { ...step, run: async (ctx) => (await sleep(ms), step.run(ctx)) } : step,
  );
}

describe('whole-run telemetry in every run', () => {
  it(
    'samples the router from preflight to the end, and status and explain show the service in replicate and verify',
    { timeout: 60_000 },
    async () => {
      const tmp = makeTempDir('handoff-telemetry-');
      const stateDir = path.join(tmp.dir, 'state');
      const planFile = path.join(tmp.dir, 'plan.yaml');
      fs.writeFileSync(planFile, PLAN);
      const router = createFakeRouter();
      // Reads at 5 ms and writes at 30 ms on whichever site serves them, every 20 ms, the whole run.
      const traffic = setInterval(() => {
        router.simulate({ cls: 'reads', count: 10, latencyMs: 5 });
        router.simulate({ cls: 'writes', count: 2, latencyMs: 30 });
      }, 20);
      cleanups.push(() => {
        clearInterval(traffic);
        tmp.cleanup();
      });
      const fake = createFakeDataPlane(createFakeWorld([TABLE]));
      // What the data plane's steps find as the run's latency baseline (their pacers judge against it).
      let baselineSeen: TrafficBaseline | undefined;
      const dataPlane: DataPlane = {
        ...fake,
        replicationSteps: (entry) =>
          slowFirst(fake.replicationSteps(entry), 1500).map((step, index) =>
            index === 0
              ? { ...step, run: (ctx) => ((baselineSeen = ctx.state.get(TRAFFIC_BASELINE_KEY)), step.run(ctx)) }
              : step,
          ),
        verificationSteps: (entry) => slowFirst(fake.verificationSteps(entry), 1500),
      };
      const runtime = createRuntime({
        stateDir,
        overrides: {
          router,
          dataPlane,
          platforms: {
            source: createFakePlatform({ site: 'source', replicas: 2 }),
            target: createFakePlatform({ site: 'target' }),
          },
          metricProviders: (check) =>
            createFakeProvider({
              fields: [check.field],
              series: Array.from({ length: 10_000 }, () => ({
                source: ok({ [check.field]: 0 }, 500),
                target: ok({ [check.field]: 0 }, 500),
              })),
            }),
        },
      });
      const events: HandoffEvent[] = [];
      const env: EngineEnv = {
        stateDir,
        env: { SOURCE_DB: 'postgresql://app@127.0.0.1:1/source', TARGET_DB: 'postgresql://app@127.0.0.1:1/target' },
        cwd: tmp.dir,
        redactor: createRedactor(),
        logger: createSilentLogger(),
        actor: 'tester',
        pollMs: 20,
        report: false,
        runtime,
        observe: (bus) => void bus.on((e) => events.push(e)),
      };
      const outcome = await startRun(env, loadPlanFile(planFile), null);
      expect(outcome.run.error).toBeNull();
      expect(outcome.run.state).toBe('succeeded');

      // One stream of whole-run samples, each labelled with its stage, none after the run finished.
      const samples = events.filter((e) => e.type === 'traffic-sample' && e.subject === 'run');
      const finishedAt = events.findIndex((e) => e.type === 'run-finished');
      expect(events.findLastIndex((e) => e.type === 'traffic-sample' && e.subject === 'run')).toBeGreaterThan(
        finishedAt,
      );
      const stagesSampled = new Set(samples.map((e) => (e.data as TrafficSampleEvent).stage));

      // The latency baseline: measured in preflight over throttle.baselineWindow (5 s by default)
      // with handoff idle, before the first copy step, which finds it in the run's state.
      const baseline = events.find((e) => e.type === 'traffic-baseline');
      expect(baseline).toBeDefined();
      expect(events.indexOf(baseline!)).toBeLessThan(
        events.findIndex((e) => e.type === 'stage-started' && (e.data as { stage: string }).stage === 'replicate'),
      );
      const measured = baseline!.data as TrafficBaseline;
      expect(measured.windowMs).toBe(5000);
      expect(measured.samples).toBeGreaterThanOrEqual(3);
      expect(measured.p99Ms).toBeGreaterThanOrEqual(25);
      expect(measured.p99Ms).toBeLessThanOrEqual(40);
      expect(baselineSeen).toEqual(measured);
      for (const stage of ['preflight', 'replicate', 'verify', 'shift', 'cutover', 'finalize'])
        expect(stagesSampled).toContain(stage);

      const detail = describeRun(env, outcome.run.id);
      const byStage = new Map(detail.traffic.stages.map((s) => [s.stage, s]));
      expect(detail.traffic.samples).toBe(samples.length);
      expect(byStage.get('preflight')?.samples).toBeGreaterThan(0);
      for (const stage of ['replicate', 'verify']) {
        const s = byStage.get(stage);
        // 1.5 s of the slow step at about 500 requests/s: hundreds of requests, none failed, p99 the writes' 30 ms.
        expect(s?.observedMs).toBeGreaterThanOrEqual(1000);
        expect(s?.requests).toBeGreaterThan(100);
        expect(s).toMatchObject({ errors: 0, worstErrorRate: 0, worstP99Site: 'source' });
        expect(s?.worstP99Ms).toBeGreaterThanOrEqual(25);
        expect(s?.worstP99Ms).toBeLessThanOrEqual(40);
      }
      // The run's requests add up: every window counted once, whatever stage it belongs to.
      const routerTotal = Object.values((await router.snapshot()).stats.sites).reduce(
        (n, s) => n + s.reads.requests + s.writes.requests,
        0,
      );
      const counted = detail.traffic.stages.reduce((n, s) => n + s.requests, 0);
      expect(counted).toBeLessThanOrEqual(routerTotal);
      expect(counted).toBeGreaterThan(0);
      expect(detail.traffic.latest?.classes.map((c) => `${c.site}/${c.cls}`).sort()).toEqual([
        'source/reads',
        'source/writes',
        'target/reads',
        'target/writes',
      ]);

      const explanation = explainRun(env, outcome.run.id);
      expect(explanation.traffic.find((t) => t.startsWith('verify:'))).toMatch(
        /^verify: \d+(\.\d)? s, [\d,]+ requests, 0 errors, p99 \d+(\.\d)? ms \(source\)$/,
      );
      expect(explanation.traffic.find((t) => t.startsWith('replicate:'))).toMatch(
        /^replicate: .* requests, 0 errors, p99 /,
      );
      expect(formatExplanation(explanation)).toMatch(
        /How the service did \(router, per stage; worst window\):\n {2}preflight: [\s\S]* {2}verify: /,
      );

      // The CLI: status -o json has the traffic object; the text shows the latest health and the stages.
      const fx = { dir: tmp.dir, stateDir, plan: planFile, cleanup: () => {} };
      const json = jsonOf<{ traffic: typeof detail.traffic }>(await cli(fx, ['status', outcome.run.id, '-o', 'json']));
      expect(json.traffic.stages.map((s) => s.stage)).toEqual(detail.traffic.stages.map((s) => s.stage));
      const text = await cli(fx, ['status', outcome.run.id]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        /service health \(router, the [\d.]+ s to \S+\):\n {4}source reads: [\d.]+ req\/s, errors [\d.]+ %|n\/a/,
      );
      expect(text.stdout).toMatch(
        /per stage \(worst window\):\n {4}preflight: [\s\S]* {4}verify: [\d.]+ s, [\d,]+ requests, 0 errors, p99/,
      );
    },
  );
});
