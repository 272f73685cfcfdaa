/**
 * `handoff explain RUN` over real engine runs: a run rolled back by a gate Fail (the decision with
 * its values), a run paused waiting for an approval (the role and the command), a running run (what
 * it waits for: bake time left, minSamples, passes in a row, a check that cannot judge), an aborted
 * and a finished run; an unknown run is bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ok } from '../../src/analysis/providers/fake.js';
import { pauseOrAbort, resumeRun } from '../../src/engine/manage.js';
import { explainRun, type RunExplanation } from '../../src/engine/explain.js';
import { startRun } from '../../src/engine/start.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { runCli } from '../support/cli.js';
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

async function explain(fx: GatePlan, id: string): Promise<{ json: RunExplanation; text: string }> {
  const json = await cli(fx, ['explain', id, '-o', 'json']);
  expect(json.code, json.stderr).toBe(0);
  const text = await cli(fx, ['explain', id]);
  expect(text.code, text.stderr).toBe(0);
  return { json: jsonOf<RunExplanation>(json), text: text.stdout };
}

describe('handoff explain', () => {
  it(
    'says what failed in a rolled-back run and the gate decision, with the values, that caused it',
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'explain-rolled-back' });
      const outcome = await startRun(
        engineEnvFor(fx, gateRegistry({ series: failingAt25 })),
        loadPlanFile(fx.plan),
        null,
      );
      expect(outcome.run.state).toBe('rolled-back');
      const id = outcome.run.id;
      const { json, text } = await explain(fx, id);
      expect(json).toMatchObject({
        run: id,
        plan: 'explain-rolled-back',
        state: 'rolled-back',
        stage: 'shift',
        waitingFor: [],
      });
      expect(json.summary).toMatch(
        new RegExp(
          `^Run ${id} was rolled back at stage shift: step reads-25 of stage shift failed: gate shift-25 failed: check errors failed`,
        ),
      );
      expect(json.failure?.stage).toBe('shift');
      expect(json.failure?.decision).toMatchObject({ gate: 'shift-25', decision: 'rollback' });
      expect(json.failure?.decision?.checks.find((c) => c.check === 'errors')).toMatchObject({
        outcome: 'Fail',
        value: 0.04,
        sourceValue: 0.01,
        samples: 1000,
      });
      expect(json.details).toContainEqual(
        expect.stringMatching(/^Gate shift-25 decided rollback at \S+; every stage done was undone in reverse\.$/),
      );
      expect(text).toMatch(
        /The decision that rolled it back:\n\s+Gate shift-25 decided to roll back:\n\s+- check errors failed: critical check breached: Fail: target error_rate 0\.04 is 4× the source's 0\.01, at or above fail 2/,
      );
      expect(text).toMatch(
        /errors \(router\.error_rate\) \[critical\]: Fail \(target 0\.04, source 0\.01, ratio 4×, p=\S+, 1000 target samples, 4000 source\) against max 0\.05, warn at 1\.1×, fail at 2×/,
      );
      expect(text).toMatch(
        /Last gate decisions \(newest last\):\n\s+\S+ \[shift\] Gate shift-25 decided to hold the step:[\s\S]*\S+ \[shift\] Gate shift-25 decided to roll back \(shown above\)\n$/,
      );
      expect(json.decisions.map((d) => d.decision)).toEqual(['hold', 'rollback']);
    },
  );

  it(
    'names the role a paused run waits for and the command that approves, then what is left once approved',
    { timeout: 120_000 },
    async () => {
      const fx = plan({
        name: 'explain-approval',
        steps: [100],
        bake: '1s',
        approvals: ['{ before: shift, role: db-owner, timeout: 1s }'],
      });
      const env = engineEnvFor(fx, gateRegistry({ series: () => repeat(healthy) }));
      const first = await startRun(env, loadPlanFile(fx.plan), null);
      expect(first.run.state).toBe('paused');
      const id = first.run.id;
      const { json, text } = await explain(fx, id);
      expect(json.summary).toBe(
        `Run ${id} is paused at stage shift: waiting for approval of stage shift by role db-owner (waited 1s); approve it, then resume.`,
      );
      expect(json.waitingFor).toEqual([
        expect.objectContaining({
          kind: 'approval',
          stage: 'shift',
          role: 'db-owner',
          text: expect.stringMatching(/^an approval of stage shift by someone with role db-owner, asked at \S+$/),
        }),
      ]);
      expect(json.actions.map((a) => a.command)).toEqual([
        `handoff approve ${id} --stage shift --as NAME --role db-owner`,
        `handoff resume ${id}`,
        `handoff rollback ${id}`,
      ]);
      expect(text).toContain(
        `What you can do:\n  handoff approve ${id} --stage shift --as NAME --role db-owner\n      approve stage shift; needs someone with role db-owner\n`,
      );

      const approved = await cli(fx, ['approve', id, '--stage', 'shift', '--as', 'carol', '--role', 'db-owner']);
      expect(approved.code, approved.stderr).toBe(0);
      const after = (await explain(fx, id)).json;
      expect(after.waitingFor).toEqual([]);
      expect(after.actions.map((a) => a.command)).toEqual([`handoff resume ${id}`, `handoff rollback ${id}`]);

      const done = await resumeRun(env, id);
      expect(done.run.state).toBe('succeeded');
      const finished = await explain(fx, id);
      expect(finished.json.summary).toMatch(
        new RegExp(`^Run ${id} succeeded: every stage is done \\(finished \\S+\\)\\.$`),
      );
      expect(finished.json.decisions.at(-1)).toMatchObject({ gate: 'shift-100', stage: 'shift', decision: 'advance' });
      expect(finished.text).toMatch(
        /\[shift\] Gate shift-100 decided to advance:\n\s+- bake of 1 s done and all 2 checks passed/,
      );
    },
  );

  it(
    'says what a running run waits for: bake time left, minSamples not reached, passes in a row; then that it was aborted',
    { timeout: 180_000 },
    async () => {
      const fx = plan({ name: 'explain-running', steps: [5, 100], bake: '60s', consecutiveSuccesses: 50 });
      const fewSamples = { source: ok({ error_rate: 0.01 }, 400), target: ok({ error_rate: 0.01 }, 30) };
      const env = engineEnvFor(
        fx,
        gateRegistry({ series: (_gate, check) => repeat(check === 'errors' ? fewSamples : healthy) }),
      );
      const running = startRun(env, loadPlanFile(fx.plan), null);
      let id = '';
      let explained: RunExplanation | null = null;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (fs.existsSync(path.join(fx.stateDir, 'state.db'))) {
          id ||= jsonOf<{ runs: Array<{ id: string }> }>(await cli(fx, ['status', '-o', 'json'])).runs[0]?.id ?? '';
          if (id) {
            const now = jsonOf<RunExplanation>(await cli(fx, ['explain', id, '-o', 'json']));
            const p99 = now.waitingFor.find((w) => w.kind === 'passes' && w.check === 'p99');
            if ((p99?.have ?? 0) >= 2) {
              explained = now;
              break;
            }
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(explained, 'the run never got two p99 passes').not.toBeNull();
      const e = explained as RunExplanation;
      expect(e).toMatchObject({ state: 'running', stage: 'shift' });
      expect(e.summary).toMatch(new RegExp(`^Run ${id} is running at stage shift \\(executor .+\\)\\.$`));
      const bake = e.waitingFor.find((w) => w.kind === 'bake');
      expect(bake?.leftMs).toBeGreaterThan(0);
      expect(bake?.leftMs).toBeLessThanOrEqual(60_000);
      expect(bake?.text).toMatch(/^the bake of step reads-5: about \d+ s of 60 s left$/);
      expect(e.waitingFor).toContainEqual(
        expect.objectContaining({ kind: 'samples', check: 'errors', have: 30, need: 100 }),
      );
      expect(e.waitingFor).toContainEqual(
        expect.objectContaining({
          kind: 'passes',
          check: 'p99',
          need: 50,
          text: expect.stringMatching(/^check p99: \d+ of 50 passes in a row \(last Pass\)$/),
        }),
      );
      // The samples it lacks are why errors cannot judge: said once.
      expect(e.waitingFor.filter((w) => w.check === 'errors').map((w) => w.kind)).toEqual(['samples']);
      expect(e.currentGate).toMatchObject({ gate: 'shift-5', stage: 'shift', decision: 'hold' });
      expect(e.actions.map((a) => a.command)).toEqual([`handoff pause ${id}`, `handoff rollback ${id}`]);
      const text = (await cli(fx, ['explain', id])).stdout;
      expect(text).toMatch(/It waits for:\n(\s+- .*\n)*\s+- the bake of step reads-5: about \d+ s of 60 s left\n/);

      const abort = await cli(fx, ['abort', id, '--as', 'dave', '-o', 'json']);
      expect(abort.code, abort.stderr).toBe(0);
      expect(jsonOf(abort)).toMatchObject({ requested: true });
      const outcome = await running;
      expect(outcome.run.state).toBe('aborted');
      const aborted = (await explain(fx, id)).json;
      expect(aborted.summary).toMatch(
        new RegExp(`^Run ${id} was aborted at stage shift: aborted by dave\\. What it did is still in place\\.$`),
      );
      expect(aborted.actions.map((a) => a.command)).toEqual([`handoff rollback ${id}`]);
    },
  );

  it(
    'says a run paused by a gate that cannot judge rolled nothing back, and that resume evaluates the gate afresh',
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'explain-escalated', bake: '30s', errorsCheck: 'escalateAfter: 1s' });
      const env = engineEnvFor(
        fx,
        gateRegistry({ series: (_gate, check) => (check === 'errors' ? repeat({}) : repeat(healthy)) }),
      );
      const outcome = await startRun(env, loadPlanFile(fx.plan), null);
      expect(outcome.run.state).toBe('paused');
      const id = outcome.run.id;
      const { json, text } = await explain(fx, id);
      expect(json.summary).toMatch(
        new RegExp(
          `^Run ${id} is paused at stage shift: step reads-25 of stage shift holds the run: gate shift-25 cannot judge: check errors cannot judge: unable to judge for \\d+ s \\(escalateAfter 1 s\\); last NoData: `,
        ),
      );
      expect(json.details).toContainEqual(
        expect.stringMatching(/^Gate shift-25 decided escalate at \S+: check errors cannot judge: unable to judge/),
      );
      expect(json.details).toContain(
        'Nothing was rolled back: a gate that cannot tell holds the step (traffic stays as it was) until someone looks.',
      );
      expect(json.failure).toBeNull();
      expect(json.actions).toEqual([
        { command: `handoff resume ${id}`, does: 'run the step again and evaluate gate shift-25 afresh' },
        { command: `handoff rollback ${id}`, does: 'undo every step done, in reverse' },
      ]);
      expect(json.decisions.map((d) => d.decision)).toEqual(['hold', 'escalate']);
      expect(text).toMatch(
        /Gate shift-25 decided to hold and ask a human \(escalate\):\n\s+- check errors cannot judge/,
      );
    },
  );

  it(
    "says a running run waits for its stage's own gate once the stage's steps are done",
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'explain-stage-gate' });
      const env = engineEnvFor(fx, gateRegistry({ series: () => repeat(healthy), verifyGate: 'blocks' }));
      const running = startRun(env, loadPlanFile(fx.plan), null);
      let seen: RunExplanation | null = null;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !seen) {
        if (fs.existsSync(path.join(fx.stateDir, 'state.db'))) {
          const id = jsonOf<{ runs: Array<{ id: string }> }>(await cli(fx, ['status', '-o', 'json'])).runs[0]?.id;
          const e = id ? explainRun(env, id) : null;
          if (e?.waitingFor.some((w) => w.kind === 'decision')) seen = e;
        }
        if (!seen) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen, 'the run never waited for the verify gate').not.toBeNull();
      expect(seen?.waitingFor).toEqual([
        { kind: 'decision', stage: 'verify', text: 'the gate of stage verify to decide (its steps are done)' },
      ]);
      // Ends the run (what the executor makes of an abort during a stage gate is not this test's subject).
      await pauseOrAbort(env, String(seen?.run), 'abort');
      expect((await running).run.state).not.toBe('running');
    },
  );

  it(
    'refuses an unknown run and a missing run id with exit 2, no stack trace (the real CLI process)',
    { timeout: 120_000 },
    async () => {
      const fx = plan({ name: 'explain-unknown' });
      const [unknown, missing] = await Promise.all([
        runCli(['explain', 'no-such-run', '-o', 'json', '--state-dir', fx.stateDir], { timeoutMs: 90_000 }),
        runCli(['explain', '--state-dir', fx.stateDir], { timeoutMs: 90_000 }),
      ]);
      expect(unknown.code, unknown.stderr).toBe(2);
      expect(unknown.stderr).toMatch(/there is no run no-such-run/);
      expect(unknown.stdout).toBe('');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/missing required argument 'run'/);
      for (const r of [unknown, missing]) expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(fx.stateDir)).toBe(false);
    },
  );
});
