/**
 * Two processes on one run: a live executor (its own process) and the commands an operator runs
 * meanwhile. The lease keeps a second executor out while the first lives; a stalled executor whose
 * lease expired and was taken over cannot write any more; pause, abort and rollback reach a live
 * executor as requests it takes at its next step boundary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../src/common/errors.js';
import { createRedactor } from '../../src/common/redact.js';
import { acquireLease } from '../../src/engine/lease.js';
import { openStore } from '../../src/store/store.js';
import { runCli, runCliInProcess, type CliResult } from '../support/cli.js';
import { runEngineChild } from '../support/engine-process.js';
import { makeTempDir } from '../support/tmp.js';
import { localPlan, type PlanDir } from './fixtures.js';

const env = { SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app', HANDOFF_STATE_DIR: '' };
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function cli(fx: PlanDir, args: string[]): Promise<CliResult> {
  return runCliInProcess([...args, '--state-dir', fx.stateDir], { cwd: fx.dir, env });
}

/** Polls (bounded) until the run of the fixture waits for its approval; returns its id. */
async function waitingRun(fx: PlanDir): Promise<string> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(path.join(fx.stateDir, 'state.db'))) {
      const list = JSON.parse((await cli(fx, ['status', '-o', 'json'])).stdout) as { runs: Array<{ id: string }> };
      const id = list.runs[0]?.id;
      if (id) {
        const detail = JSON.parse((await cli(fx, ['status', id, '-o', 'json'])).stdout) as { reason: string | null };
        if (detail.reason?.startsWith('waiting for approval')) return id;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the run never started waiting for its approval');
}

function fixture(): PlanDir {
  const fx = localPlan({ approvals: '    - { before: finalize, role: db-owner, timeout: 5m }' });
  cleanups.push(fx.cleanup);
  return fx;
}

describe('a live executor and the operator', () => {
  it(
    'refuses a second executor while the lease holds, and takes pause then abort as requests',
    { timeout: 240_000 },
    async () => {
      const fx = fixture();
      const executor = runCli(['run', '-f', fx.plan, '-o', 'json', '--state-dir', fx.stateDir], {
        env,
        timeoutMs: 200_000,
      });
      const id = await waitingRun(fx);

      const second = await cli(fx, ['resume', id]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        new RegExp(`run ${id} is being executed by .+ \\(lease epoch 1, held until .+\\); wait for it to finish`),
      );

      const pause = await cli(fx, ['pause', id, '--as', 'alice', '-o', 'json']);
      expect(pause.code, pause.stderr).toBe(0);
      expect(JSON.parse(pause.stdout)).toMatchObject({ requested: true });
      const paused = await executor;
      expect(paused.code, paused.stderr).toBe(1);
      expect(JSON.parse(paused.stdout)).toMatchObject({ run: id, state: 'paused', reason: 'paused by alice' });

      const again = runCli(['resume', id, '-o', 'json', '--state-dir', fx.stateDir], { env, timeoutMs: 200_000 });
      await waitingRun(fx);
      const abort = await cli(fx, ['abort', id, '--as', 'bob', '-o', 'json']);
      expect(JSON.parse(abort.stdout)).toMatchObject({ requested: true });
      const aborted = await again;
      expect(JSON.parse(aborted.stdout)).toMatchObject({ state: 'aborted', reason: 'aborted by bob' });
      expect(aborted.code).toBe(1);

      const rolled = await cli(fx, ['rollback', id, '-o', 'json']);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(JSON.parse(rolled.stdout)).toMatchObject({ state: 'rolled-back', requested: false });
      const audit = await cli(fx, ['audit', 'verify', '-o', 'json']);
      expect(audit.code, audit.stdout).toBe(0);
      const actions = fs
        .readFileSync(path.join(fx.stateDir, 'audit', 'trail.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { action: string; actor: string });
      expect(actions).toContainEqual(expect.objectContaining({ action: 'control-requested', actor: 'alice' }));
      expect(actions).toContainEqual(expect.objectContaining({ action: 'run-aborted' }));
      expect(actions).toContainEqual(expect.objectContaining({ action: 'rollback-done' }));
    },
  );

  it('goes on as soon as the approval is recorded from another process', { timeout: 240_000 }, async () => {
    const fx = fixture();
    const executor = runCli(['run', '-f', fx.plan, '-o', 'json', '--state-dir', fx.stateDir], {
      env,
      timeoutMs: 200_000,
    });
    const id = await waitingRun(fx);
    const approve = await cli(fx, ['approve', id, '--stage', 'finalize', '--as', 'erin', '--role', 'db-owner']);
    expect(approve.code, approve.stderr).toBe(0);
    const result = await executor;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ run: id, state: 'succeeded' });
  });

  it('lets a live executor roll back when asked', { timeout: 240_000 }, async () => {
    const fx = fixture();
    const executor = runCli(['run', '-f', fx.plan, '-o', 'json', '--state-dir', fx.stateDir], {
      env,
      timeoutMs: 200_000,
    });
    const id = await waitingRun(fx);
    const request = await cli(fx, ['rollback', id, '--as', 'carol', '-o', 'json']);
    expect(JSON.parse(request.stdout)).toMatchObject({ requested: true });
    const result = await executor;
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'rolled-back', reason: 'rollback requested by carol' });
  });

  it(
    'refuses every write of a stalled executor whose lease expired and was taken over',
    { timeout: 240_000 },
    async () => {
      const tmp = makeTempDir('handoff-stall-');
      cleanups.push(tmp.cleanup);
      const effects = path.join(tmp.dir, 'effects');
      fs.mkdirSync(effects);
      const plan = path.join(tmp.dir, 'plan.yaml');
      fs.writeFileSync(
        plan,
        'apiVersion: handoff.dev/v1alpha1\nkind: Migration\nmetadata: { name: stall }\nspec:\n  source: { platform: { kind: local } }\n  target: { platform: { kind: local } }\n',
      );
      const stateDir = path.join(tmp.dir, 'state');
      const wake = path.join(tmp.dir, 'wake');
      const base = { CHILD_PLAN: plan, CHILD_STATE: stateDir, CHILD_EFFECTS: effects, CHILD_REGISTRY: 'crash' };
      let runId = '';
      let blocked = (): void => {};
      const isBlocked = new Promise<void>((resolve) => (blocked = resolve));
      // Boundary 8 is provision/create-workload after its side effect, before its done record.
      const stalled = runEngineChild({
        env: { ...base, CHILD_MODE: 'start', CHILD_LEASE_TTL_MS: '6000', CHILD_BLOCK_AT: '8', CHILD_WAKE_FILE: wake },
        onLine: (line) => {
          if (line.startsWith('RUN ')) runId = line.slice(4);
          if (line.startsWith('BLOCKED ')) blocked();
        },
        timeoutMs: 200_000,
      });
      await isBlocked;
      const store = openStore({ stateDir, create: false, redactor: createRedactor() });
      if (!store) throw new Error('no store');
      try {
        // While its lease holds, another executor is refused.
        const refused = (() => {
          try {
            acquireLease(store, { runId });
            return null;
          } catch (error) {
            return error;
          }
        })();
        if (refused === null) throw new Error('a second executor got the lease while the first held it');
        expect((refused as HandoffError).code).toBe('lease.held');
        // The stalled process renews nothing; once its lease expired, a new executor takes over.
        const deadline = Date.now() + 60_000;
        while ((store.leases.get(runId)?.expiresAt ?? 0) > Date.now() && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const taker = await runEngineChild({ env: { ...base, CHILD_MODE: 'resume', CHILD_RUN: runId } });
        expect(taker.result, taker.stderr).toMatchObject({ state: 'succeeded' });
        fs.writeFileSync(wake, '');
        const old = await stalled;
        expect(old.error).toMatchObject({ code: 'lease.lost' });
        expect(old.code).toBe(1);
        expect(old.stdout).toContain('WOKE 8');
        const step = store.steps.get(runId, 'provision', 'create-workload');
        expect(step).toMatchObject({ state: 'done', epoch: 2 });
        expect(store.runs.get(runId)?.state).toBe('succeeded');
        const applied = fs.readFileSync(path.join(effects, 'effects.log'), 'utf8').split('\n').filter(Boolean);
        expect(new Set(applied).size).toBe(applied.length);
      } finally {
        store.close();
      }
    },
  );
});
