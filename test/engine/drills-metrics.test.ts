/**
 * The rollback drill with the metrics provider going down instead of the target (issue 5): a real
 * Prometheus (the Debian package) scrapes both drill sites every second, the plan gates each step
 * of the read shift on a PromQL check as well as on the router's error rate, and midway through the
 * shift Prometheus stops. handoff must hold the step, move no traffic, and pause saying it cannot
 * judge, instead of treating "cannot tell" as "bad" (Argo Rollouts and Flagger roll back here).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestPrometheus } from '../analysis/prometheus.js';
import { readsNow, records, atStep, startScenario, type Cleanup } from '../support/drill-scenario.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const QUERY = 'sum(rate(drill_errors_total{site="{{site}}"}[5s]))';

describe('rollback drill with the metrics provider down (real Prometheus, two real sites, the built-in router)', () => {
  it(
    'holds the step when Prometheus stops midway through the shift: nothing rolls back, reads keep their weight, the run says it cannot judge',
    { timeout: 180_000 },
    async () => {
      let stopPrometheus: () => Promise<void> = () => Promise.resolve();
      const { source, target, drill, load } = await startScenario(cleanups, {
        name: 'drill-prometheus-down',
        steps: [10, 25, 50, 100],
        analysis: async (sites) => {
          const prometheus = await startTestPrometheus(
            [{ address: new URL(sites.source.url).host }, { address: new URL(sites.target.url).host }],
            1,
          );
          stopPrometheus = () => prometheus.close();
          cleanups.push(() => prometheus.close());
          await prometheus.waitForSeries(QUERY.replace('{{site}}', 'source'), 60_000);
          await prometheus.waitForSeries(QUERY.replace('{{site}}', 'target'), 60_000);
          return `    interval: 1s
    minSamples: 20
    prometheus: { url: "${prometheus.url}" }
    checks:
      - { name: errors, metric: router.error_rate, class: reads, max: 0.05, relativeToSource: { fail: 2 } }
      - { name: site-errors, metric: prometheus.query, query: '${QUERY}', max: 1, escalateAfter: 4s }`;
        },
      });
      atStep(cleanups, drill, 0.25, 1000, () => stopPrometheus());

      const outcome = await drill.run();
      expect(outcome.completed).toBe(false);
      expect(outcome.run.state).toBe('paused');
      expect(outcome.run.stage).toBe('shift');
      expect(outcome.run.error).toBeNull();
      expect(outcome.run.reason).toMatch(
        /^step reads-25 of stage shift holds the run: gate shift-25 cannot judge: check site-errors cannot judge: .*Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer.*; nothing was rolled back/,
      );

      // Nothing moved back: reads still go to the target at the 25 % step's weight (within noise).
      const now = await readsNow(load, 400);
      expect(Object.keys(now).sort()).toEqual(['source 200', 'target 200']);
      expect(now['target 200']).toBeGreaterThanOrEqual(60);
      expect(now['target 200']).toBeLessThanOrEqual(140);

      const trail = drill.trail();
      // While Prometheus answered, the check measured real values and passed; the 10 % step advanced.
      const measured = records(trail, 'check-measured', 'site-errors');
      expect(
        measured.filter((r) => r.details.gate === 'shift-10' && r.details.outcome === 'Pass').length,
      ).toBeGreaterThanOrEqual(1);
      expect(records(trail, 'gate-decided', 'shift-10').map((r) => r.details.outcome)).toContain('advance');
      // After it stopped: Errors (never Fail), then the gate escalated instead of rolling back.
      const after = measured.filter((r) => r.details.gate === 'shift-25' && r.details.outcome !== 'Pass');
      expect(after.length).toBeGreaterThanOrEqual(2);
      for (const r of after) {
        expect(r.details.outcome).toBe('Error');
        // A Prometheus on its way down first answers 503, then nothing: both are Errors, never a Fail.
        expect(String(r.details.reason)).toMatch(
          /Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer|Prometheus answered HTTP 503/,
        );
      }
      expect(records(trail, 'gate-decided', 'shift-25').map((r) => r.details.outcome)).toContain('escalate');
      expect(records(trail, 'gate-decided').map((r) => r.details.outcome)).not.toContain('rollback');
      expect(records(trail, 'rollback-started')).toEqual([]);
      expect(records(trail, 'step-undone')).toEqual([]);
      expect(records(trail, 'traffic-weights').map((r) => r.details.reason)).toEqual([
        'shift step 1 of 4 (10 %)',
        'shift step 2 of 4 (25 %)',
      ]);

      const status = await drill.status(outcome.run.id);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'paused', reason: outcome.run.reason });
      expect(source.stats.errors + target.stats.errors).toBe(0);
    },
  );
});
