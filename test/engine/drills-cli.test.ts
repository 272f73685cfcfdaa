/**
 * The detection drill the way an operator runs it: `handoff run -f plan.yaml -o json` as its own
 * process (the built-in router started inside it at the plan's `listen`), the two sites and the
 * load in this process. Midway through the read shift the target starts answering 5xx on 20 % of
 * requests; the run must roll reads back to the source by itself, exit 1 with the rolled-back
 * state, and leave the decision and the weights change in the audit trail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep } from '../../src/common/net.js';
import { trafficWeightsSchema } from '../../src/report/events.js';
import { runCli } from '../support/cli.js';
import { ROUTER_ERROR_GATE, records, startScenario, type Cleanup } from '../support/drill-scenario.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const outcomeSchema = z.object({ run: z.string(), state: z.string(), reason: z.string().nullable() });

describe('rollback drill through the CLI (handoff run in its own process)', () => {
  it(
    'rolls reads back to the source by itself and exits 1 with the run rolled back',
    { timeout: 180_000 },
    async () => {
      const { source, target, drill, load } = await startScenario(cleanups, {
        name: 'drill-cli',
        steps: [10, 25, 50, 100],
        analysis: ROUTER_ERROR_GATE,
        // Room for the fault to land well inside the 50 % step: it is injected once this process has
        // read the step's start from the trail (polled every 100 ms), which a loaded machine delays.
        bake: '6s',
      });
      const child = runCli(['run', '-f', drill.plan, '-o', 'json', '--state-dir', drill.stateDir], {
        cwd: drill.dir,
        env: { HANDOFF_STATE_DIR: '' },
        timeoutMs: 150_000,
      });
      let exited = false;
      void child.finally(() => (exited = true));

      // Inject the fault 1 s into the 50 % step, seen in the run's audit trail.
      const deadline = Date.now() + 120_000;
      const atFifty = (): boolean =>
        records(drill.trailSoFar(), 'traffic-weights').some(
          (r) => trafficWeightsSchema.parse(r.details).reads.target === 0.5,
        );
      while (!exited && Date.now() < deadline && !atFifty()) await sleep(100);
      expect(atFifty(), 'the run never reached the 50 % step').toBe(true);
      await sleep(1000);
      target.setErrorRate(0.2);

      const result = await child;
      expect(result.code, result.stderr).toBe(1);
      const outcome = outcomeSchema.parse(JSON.parse(result.stdout));
      expect(outcome.state).toBe('rolled-back');
      expect(outcome.reason).toMatch(/step reads-50 of stage shift failed: gate shift-50 failed: check errors failed/);

      const trail = drill.trail();
      const firstBad = target.stats.firstErrorWall;
      if (firstBad === null) throw new Error('the target never answered a 5xx');
      const undo = records(trail, 'traffic-weights').find((r) => String(r.details.reason).startsWith('rollback'));
      if (!undo) throw new Error('the audit trail has no traffic-weights record of the rollback');
      expect(trafficWeightsSchema.parse(undo.details).reads).toEqual({ source: 1, target: 0 });
      const weightsBackMs = Date.parse(undo.time) - firstBad;
      process.stderr.write(
        `drill detection (CLI): first 5xx → weights back on the source ${weightsBackMs} ms (audit trail)\n`,
      );
      expect(weightsBackMs).toBeGreaterThan(0);
      // The target is under 5 s with a 1 s interval; a generous bound here for a loaded shared machine.
      expect(weightsBackMs).toBeLessThan(10_000);

      // No request sent after the weights changed was answered by the target. (The run's router
      // lives as long as the handoff process, so the load sees it go away soon after.)
      const toPerf = (iso: string): number => performance.now() - (Date.now() - Date.parse(iso));
      expect(load.answers.filter((a) => a.sentAt >= toPerf(undo.time) + 100 && a.site === 'target')).toEqual([]);

      const decided = records(trail, 'gate-decided', 'shift-50').find((r) => r.details.outcome === 'rollback');
      expect(String(decided?.details.reason)).toMatch(/^check errors failed: .*target error_rate/);
      const failed = records(trail, 'check-measured', 'errors').filter(
        (r) => r.details.gate === 'shift-50' && r.details.outcome === 'Fail',
      );
      expect(failed.length).toBeGreaterThanOrEqual(2);
      expect(source.stats.errors).toBe(0);

      const verify = await drill.cli(['audit', 'verify', '-o', 'json']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    },
  );
});
