/**
 * Rollback drills through the engine (issue 5): two real sites on 127.0.0.1 behind the built-in
 * router the engine starts in-process, a bounded load of GETs through the router's listen port at
 * about 100 requests/s, and a real run of the plan (`startRun`: the real stages, gates, executor,
 * store and audit trail). Each drill breaks something midway through the read shift and checks
 * what handoff does by itself: where reads go afterwards (seen by the load), the run's state and
 * reason, and the audit trail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/common/net.js';
import {
  ROUTER_ERROR_GATE,
  atStep,
  readsNow,
  records,
  startScenario,
  weightsReason,
  type Cleanup,
} from '../support/drill-scenario.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  // In reverse: the load first, then the router and run directory, then the sites.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('rollback drills through the engine (two real sites, the built-in router, 100 requests/s)', () => {
  it(
    'detects 20 % 5xx on the target midway through the shift and routes all reads back to the source by itself',
    { timeout: 150_000 },
    async () => {
      const { source, target, drill, load } = await startScenario(cleanups, {
        name: 'drill-detect',
        steps: [10, 25, 50, 100],
        analysis: ROUTER_ERROR_GATE,
      });
      atStep(cleanups, drill, 0.5, 1000, () => target.setErrorRate(0.2));

      const outcome = await drill.run();
      expect(outcome.run.state, outcome.run.reason ?? '').toBe('rolled-back');
      expect(outcome.run.reason).toMatch(
        /step reads-50 of stage shift failed: gate shift-50 failed: check errors failed/,
      );

      // Reads are back on the source: every request sent from now on is answered by the source.
      expect(await readsNow(load)).toEqual({ 'source 200': 200 });

      // The fault began in the 50 % step, after the 10 % and 25 % steps had passed their gates.
      const done = drill.events.filter((e) => e.event.type === 'step-done').map((e) => e.event.subject);
      expect(done.some((key) => key.endsWith('/shift/reads-25'))).toBe(true);
      expect(done.some((key) => key.endsWith('/shift/reads-50'))).toBe(false);
      const firstBadPerf = target.stats.firstErrorPerf;
      const firstBadWall = target.stats.firstErrorWall;
      if (firstBadPerf === null || firstBadWall === null) throw new Error('the target never answered a 5xx');

      // Time from the target's first bad answer to the weights back on the source.
      const back = drill.events.find((e) => weightsReason(e.event)?.startsWith('rollback'));
      if (!back) throw new Error('no traffic-weights event of the rollback');
      expect(back.event.data).toMatchObject({ reads: { source: 1, target: 0 } });
      const weightsBackMs = back.at - firstBadPerf;

      const decidedAt = drill.events.find(
        (e) => e.event.type === 'gate-decided' && 'outcome' in e.event.data && e.event.data.outcome === 'rollback',
      );
      expect(decidedAt?.event.subject).toBe('shift-50');
      const detectionMs = (decidedAt?.at ?? Number.NaN) - firstBadPerf;

      const trail = drill.trail();
      const undo = records(trail, 'traffic-weights').find((r) => String(r.details.reason).startsWith('rollback'));
      if (!undo) throw new Error('the audit trail has no traffic-weights record of the rollback');
      const trailMs = Date.parse(undo.time) - firstBadWall;
      process.stderr.write(
        `drill detection: first 5xx → gate decided rollback ${Math.round(detectionMs)} ms → weights back on the source ${Math.round(weightsBackMs)} ms (audit trail: ${trailMs} ms)\n`,
      );
      expect(detectionMs).toBeGreaterThan(0);
      expect(weightsBackMs).toBeGreaterThanOrEqual(detectionMs);
      // The target is under 5 s with a 1 s interval; a generous bound here for a loaded shared machine.
      expect(weightsBackMs).toBeLessThan(10_000);
      expect(Math.abs(trailMs - weightsBackMs)).toBeLessThan(1000);

      // The decision and the values that caused it are in the trail.
      const decided = records(trail, 'gate-decided', 'shift-50').find((r) => r.details.outcome === 'rollback');
      expect(decided?.details).toMatchObject({ gate: 'shift-50', outcome: 'rollback' });
      expect(String(decided?.details.reason)).toMatch(/^check errors failed: .*target error_rate/);
      const failed = records(trail, 'check-measured', 'errors').filter(
        (r) => r.details.gate === 'shift-50' && r.details.outcome === 'Fail',
      );
      expect(failed.length).toBeGreaterThanOrEqual(2);
      for (const r of failed) {
        expect(r.details.value).toBeGreaterThan(0.05);
        expect(r.details.samples).toBeGreaterThanOrEqual(20);
        expect(r.details.threshold).toMatchObject({ max: 0.05, fail: 2 });
      }
      // Before the fault, no measurement of the errors check failed.
      expect(
        records(trail, 'check-measured', 'errors').filter(
          (r) => r.details.gate !== 'shift-50' && r.details.outcome === 'Fail',
        ),
      ).toEqual([]);
      expect(source.stats.errors).toBe(0);
      expect(records(trail, 'rollback-done')).toHaveLength(1);
      // Moving the weights dropped nothing: once the router answered, every request got an answer.
      const up = load.answers.find((a) => a.status !== 0);
      expect(up).toBeDefined();
      expect(load.answers.filter((a) => a.status === 0 && a.sentAt > (up?.sentAt ?? 0))).toEqual([]);
    },
  );

  it(
    'holds the step when the metrics provider cannot answer: nothing rolls back, reads keep their weight, the run says it cannot judge',
    { timeout: 150_000 },
    async () => {
      const closedPort = await freePort();
      const analysis = `    interval: 1s
    minSamples: 20
    prometheus: { url: "http://127.0.0.1:${closedPort}" }
    checks:
      - { name: errors, metric: router.error_rate, class: reads, max: 0.05, relativeToSource: { fail: 2 } }
      - { name: prom-errors, metric: prometheus.query, query: 'sum(rate(http_requests_total{site="{{site}}",code=~"5.."}[1m]))', max: 1, escalateAfter: 4s }`;
      const { source, target, drill, load } = await startScenario(cleanups, {
        name: 'drill-blind',
        steps: [10, 25, 50, 100],
        analysis: analysis,
      });

      const outcome = await drill.run();
      expect(outcome.completed).toBe(false);
      expect(outcome.run.state).toBe('paused');
      expect(outcome.run.stage).toBe('shift');
      expect(outcome.run.reason).toMatch(
        /^step reads-10 of stage shift holds the run: gate shift-10 cannot judge: .*prom-errors.*; nothing was rolled back/,
      );
      expect(outcome.run.error).toBeNull();

      // Nothing moved back: reads still go to the target at the step's weight (10 %, within noise).
      const now = await readsNow(load, 300);
      expect(Object.keys(now).sort()).toEqual(['source 200', 'target 200']);
      expect(now['target 200']).toBeGreaterThanOrEqual(10);
      expect(now['target 200']).toBeLessThanOrEqual(60);

      const trail = drill.trail();
      expect(records(trail, 'rollback-started')).toEqual([]);
      expect(records(trail, 'step-undone')).toEqual([]);
      expect(records(trail, 'traffic-weights').map((r) => r.details.reason)).toEqual(['shift step 1 of 4 (10 %)']);
      // The router is what changed (the report's convention); the why is the reason.
      expect(records(trail, 'traffic-weights', 'router')).toHaveLength(1);
      // Each failed measurement is recorded as an Error (never a Fail), with why.
      const measured = records(trail, 'check-measured', 'prom-errors');
      expect(measured.length).toBeGreaterThanOrEqual(2);
      for (const r of measured) {
        expect(r.details).toMatchObject({ gate: 'shift-10', outcome: 'Error' });
        expect(String(r.details.reason)).toMatch(/prometheus/i);
      }
      expect(records(trail, 'gate-decided', 'shift-10').map((r) => r.details.outcome)).toContain('escalate');
      expect(records(trail, 'gate-decided').map((r) => r.details.outcome)).not.toContain('rollback');
      expect(records(trail, 'run-paused')).toHaveLength(1);

      const status = await drill.status(outcome.run.id);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'paused', reason: outcome.run.reason });
      const explain = await drill.cli(['explain', outcome.run.id]);
      expect(explain.code, explain.stderr).toBe(0);
      expect(explain.stdout).toMatch(/cannot judge: .*prom-errors/);
      expect(source.stats.errors + target.stats.errors).toBe(0);
    },
  );

  it(
    'does not move traffic onto a sick source when the rollback is due: the run pauses and says why',
    { timeout: 150_000 },
    async () => {
      const { source, target, drill, load } = await startScenario(cleanups, {
        name: 'drill-sick-source',
        steps: [10, 25, 50, 100],
        analysis: ROUTER_ERROR_GATE,
      });
      atStep(cleanups, drill, 0.25, 1000, () => {
        target.setErrorRate(0.2);
        source.setHealthy(false);
      });

      const outcome = await drill.run();
      expect(outcome.completed).toBe(false);
      expect(outcome.run.state).toBe('paused');
      expect(outcome.run.reason).toMatch(
        /^step reads-25 of stage shift holds the run: gate shift-25 decided to roll back \(check errors failed: .*\), but GET \/healthz on the source failed 3 of 3 probes \(.*503.*\); not moving traffic onto it/,
      );
      expect(source.stats.healthChecks).toBeGreaterThanOrEqual(3);

      // Traffic was not moved: reads still go to the (failing) target at the step's weight.
      const now = await readsNow(load, 300);
      expect(now['source 200']).toBeGreaterThan(150);
      expect((now['target 200'] ?? 0) + (now['target 500'] ?? 0)).toBeGreaterThanOrEqual(30);
      expect(now['target 500']).toBeGreaterThan(0);

      const trail = drill.trail();
      expect(records(trail, 'gate-decided', 'shift-25').map((r) => r.details.outcome)).toContain('rollback');
      expect(records(trail, 'rollback-started')).toEqual([]);
      expect(records(trail, 'traffic-weights').map((r) => r.details.reason)).toEqual([
        'shift step 1 of 4 (10 %)',
        'shift step 2 of 4 (25 %)',
      ]);
      const paused = records(trail, 'run-paused');
      expect(paused).toHaveLength(1);
      expect(paused[0]?.details.reason).toBe(outcome.run.reason);

      const status = await drill.status(outcome.run.id);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'paused', reason: outcome.run.reason });
      const explain = await drill.cli(['explain', outcome.run.id]);
      expect(explain.code, explain.stderr).toBe(0);
      expect(explain.stdout).toContain('failed 3 of 3 probes (HTTP 503, expected 200); not moving traffic onto it');
      expect(explain.stdout).toMatch(/Gate shift-25 decided rollback/);

      // Once the source is well again, resuming re-runs the step; the target still fails, so now the
      // rollback goes through and reads end on the source.
      source.setHealthy(true);
      const resumed = await drill.resume(outcome.run.id);
      expect(resumed.run.state, resumed.run.reason ?? '').toBe('rolled-back');
      expect(await readsNow(load)).toEqual({ 'source 200': 200 });
      const after = drill.trail();
      expect(
        records(after, 'traffic-weights')
          .map((r) => r.details.reason)
          .slice(2),
      ).toEqual(['shift step 2 of 4 (25 %)', 'rollback: reads back on the source (from the 25 % step)']);
    },
  );
});
