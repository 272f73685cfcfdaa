/**
 * `handoff status RUN` shows the current gate and the last gate decisions of real engine runs,
 * read from the audit trail (and from the store for stage gates when the trail is gone).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/load.js';
import { startRun } from '../../src/engine/start.js';
import {
  cli,
  engineEnvFor,
  failingAt25,
  gateRegistry,
  healthy,
  jsonOf,
  repeat,
  writeGatePlan,
  type GatePlan,
} from './explain-support.js';

const plans: GatePlan[] = [];
afterAll(() => {
  for (const p of plans) p.cleanup();
});

function plan(options: Parameters<typeof writeGatePlan>[0]): GatePlan {
  const p = writeGatePlan(options);
  plans.push(p);
  return p;
}

interface GateJson {
  gate: string;
  stage: string | null;
  decision: string;
  reasons: string[];
  checks: Array<Record<string, unknown>>;
}

describe('handoff status: gates', () => {
  it(
    'shows the gate that rolled a run back, its checks with value, threshold, samples and outcome, and the last decisions',
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'status-gate-fail' });
      const outcome = await startRun(
        engineEnvFor(fx, gateRegistry({ series: failingAt25 })),
        loadPlanFile(fx.plan),
        null,
      );
      expect(outcome.run.state).toBe('rolled-back');
      const id = outcome.run.id;

      const result = await cli(fx, ['status', id, '-o', 'json']);
      expect(result.code, result.stderr).toBe(0);
      const status = jsonOf<{ stage: string; currentGate: GateJson; lastDecisions: GateJson[] }>(result);
      expect(status.stage).toBe('shift');
      expect(status.currentGate).toMatchObject({ gate: 'shift-25', stage: 'shift', decision: 'rollback' });
      expect(status.currentGate.reasons[0]).toMatch(
        /^check errors failed: critical check breached: Fail: target error_rate 0\.04 is 4× the source's 0\.01, at or above fail 2 \(40 errors in 1000 target requests, 40 in 4000 source requests/,
      );
      const errors = status.currentGate.checks.find((c) => c.check === 'errors');
      expect(errors).toMatchObject({
        metric: 'router.error_rate',
        outcome: 'Fail',
        verdict: 'failed',
        value: 0.04,
        ratio: 4,
        sourceValue: 0.01,
        samples: 1000,
        sourceSamples: 4000,
        threshold: { max: 0.05, fail: 2, minSamples: 100 },
        critical: true,
        failures: 1,
      });
      const p99 = status.currentGate.checks.find((c) => c.check === 'p99');
      expect(p99).toMatchObject({ outcome: 'Pass', value: 110, threshold: { max: 500, minSamples: 100 } });
      expect(status.lastDecisions.map((d) => [d.gate, d.stage, d.decision])).toEqual([
        ['shift-25', 'shift', 'hold'],
        ['shift-25', 'shift', 'rollback'],
      ]);

      const one = jsonOf<{ lastDecisions: GateJson[] }>(
        await cli(fx, ['status', id, '-o', 'json', '--decisions', '1']),
      );
      expect(one.lastDecisions.map((d) => d.decision)).toEqual(['rollback']);

      const text = await cli(fx, ['status', id]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        /current gate shift-25 \(stage shift\): rollback since \S+\n\s+- check errors failed: critical check breached/,
      );
      expect(text.stdout).toMatch(
        /errors \(router\.error_rate\) \[critical\]: Fail \(target 0\.04, source 0\.01, ratio 4×.*1000 target samples, 4000 source\) against max 0\.05, warn at 1\.1×, fail at 2×, at least 100 samples/,
      );
      expect(text.stdout).toMatch(
        /last gate decisions \(newest last\):\n\s+\S+ shift-25 \(stage shift\): hold: .*\n\s+\S+ shift-25 \(stage shift\): rollback: check errors failed/,
      );
    },
  );

  it(
    "shows a stage gate's Fail with the checks it recorded, from the trail and, when the trail is gone, from the store",
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'status-stage-gate' });
      const verifyGate = {
        outcome: 'Fail' as const,
        reason: '3 rows of public.orders differ',
        checks: [
          { name: 'public.orders', outcome: 'Fail', value: 3, threshold: 0, samples: 120000, reason: '3 rows differ' },
        ],
      };
      const outcome = await startRun(
        engineEnvFor(fx, gateRegistry({ series: () => repeat(healthy), verifyGate })),
        loadPlanFile(fx.plan),
        null,
      );
      expect(outcome.run.state).toBe('rolled-back');
      const id = outcome.run.id;
      const expected = {
        gate: 'verify',
        stage: 'verify',
        decision: 'Fail',
        reasons: ['3 rows of public.orders differ'],
        checks: [
          expect.objectContaining({
            check: 'public.orders',
            outcome: 'Fail',
            value: 3,
            threshold: { max: 0 },
            samples: 120000,
            reason: '3 rows differ',
          }),
        ],
      };
      const fromTrail = jsonOf<{ currentGate: GateJson; lastDecisions: GateJson[] }>(
        await cli(fx, ['status', id, '-o', 'json']),
      );
      expect(fromTrail.currentGate).toMatchObject({ ...expected, seq: expect.any(Number) });
      expect(fromTrail.lastDecisions).toHaveLength(1);

      fs.rmSync(path.join(fx.stateDir, 'audit', 'trail.jsonl'));
      const fromStore = jsonOf<{ currentGate: GateJson; lastDecisions: GateJson[] }>(
        await cli(fx, ['status', id, '-o', 'json']),
      );
      expect(fromStore.currentGate).toMatchObject({ ...expected, seq: null });
      expect(fromStore.lastDecisions).toHaveLength(1);
      const text = await cli(fx, ['status', id]);
      expect(text.stdout).toMatch(
        /current gate verify \(stage verify\): Fail since \S+\n\s+- 3 rows of public\.orders differ\n\s+public\.orders: Fail \(target 3, 120000 target samples\) against max 0\. 3 rows differ\./,
      );
    },
  );

  it(
    'refuses a bad --decisions and an unknown run with exit 2, and shows no gate for a run without one',
    { timeout: 60_000 },
    async () => {
      const fx = plan({ name: 'status-no-gate' });
      const outcome = await startRun(
        engineEnvFor(fx, gateRegistry({ series: () => repeat(healthy), skipShift: true })),
        loadPlanFile(fx.plan),
        null,
      );
      expect(outcome.run.state).toBe('succeeded');
      const status = jsonOf(await cli(fx, ['status', outcome.run.id, '-o', 'json']));
      expect(status).toMatchObject({ currentGate: null, lastDecisions: [], approvalWebhooks: [] });
      for (const bad of ['0', 'ten', '-3', '1.5']) {
        const result = await cli(fx, ['status', outcome.run.id, '--decisions', bad]);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/--decisions: ".*" is not a count; give a whole number from 1 to 1000/);
      }
      const unknown = await cli(fx, ['status', 'no-such-run', '-o', 'json']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/there is no run no-such-run/);
      expect(unknown.stdout).toBe('');
    },
  );
});
