/**
 * Secret canaries: the plan's secrets are unique strings (one from the environment, one from a file).
 * A run to its end through the CLI, a failing run through the CLI, and a failing run whose test step
 * leaks its resolved URL every way it can (a debug log, an event, the durable step state, its error)
 * leave no 8-character piece of them in any file under the state directory, nor on stdout or
 * stderr, in any of the canary's forms (raw, base64 at any alignment, hex, percent-encoded, JSON).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli, type CliResult } from '../support/cli.js';
import { runEngineChild } from '../support/engine-process.js';
import { findLeaks, placesOf } from '../support/leak-forms.js';
import { listFiles } from '../support/tmp.js';
import { localPlan, type PlanDir } from './fixtures.js';

const sourcePassword = `srcCanary${randomBytes(6).toString('hex')}`;
const targetPassword = `tgtCanary${randomBytes(6).toString('hex')}`;
const sourceUrl = `postgresql://app:${sourcePassword}@127.0.0.1:5432/app`;
const targetUrl = `postgresql://app:${targetPassword}@127.0.0.1:5432/app`;
const env = { SOURCE_APP_DB: sourceUrl, HANDOFF_STATE_DIR: '' };

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function fixture(extra = ''): PlanDir {
  const fx = localPlan({ targetSecret: targetUrl, extra });
  cleanups.push(fx.cleanup);
  return fx;
}

async function cli(fx: PlanDir, args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['--log-level', 'debug', ...args, '--state-dir', fx.stateDir], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, ...env },
    cwd: fx.dir,
    isTTY: false,
  });
  return { code, signal: null, stdout, stderr, elapsedMs: 0 };
}

/**
 * Every place a canary could be: the state directory's files (as bytes) and the outputs given, searched
 * with the canary's own forms (test/support/leak-forms.ts: every 8-character piece in raw, base64,
 * hex, percent and JSON forms), not the redactor's.
 */
function expectNoCanary(stateDir: string, outputs: Record<string, string>): void {
  const places = placesOf([stateDir], outputs, listFiles);
  expect(places.length).toBeGreaterThan(4);
  expect(findLeaks({ 'source password': sourcePassword, 'target password': targetPassword }, places)).toEqual([]);
}

describe('secret canaries', () => {
  it('leave no trace after a run to its end through the CLI', { timeout: 180_000 }, async () => {
    const fx = fixture();
    const run = await runCli(
      ['--log-level', 'debug', '--log-format', 'json', 'run', '-f', fx.plan, '-o', 'json', '--state-dir', fx.stateDir],
      { env, timeoutMs: 150_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const id = String((JSON.parse(run.stdout) as { run: string }).run);
    const status = await cli(fx, ['status', id, '-o', 'json']);
    const list = await cli(fx, ['status']);
    const audit = await cli(fx, ['audit', 'verify']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'succeeded' });
    expectNoCanary(fx.stateDir, {
      stdout: run.stdout + status.stdout + list.stdout + audit.stdout,
      stderr: run.stderr + status.stderr + list.stderr + audit.stderr,
    });
  });

  it('leave no trace after a run that fails and rolls back through the CLI', async () => {
    const fx = fixture('  data:\n    - database: app\n');
    const run = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
    expect(run.code, run.stderr).toBe(1);
    const outcome = JSON.parse(run.stdout) as { state: string; error: string };
    expect(outcome.state).toBe('rolled-back');
    expect(outcome.error).toMatch(/step \S+ of stage preflight failed/);
    expectNoCanary(fx.stateDir, { stdout: run.stdout, stderr: run.stderr });
  });

  it('leave no trace when a step logs, emits, stores and throws its resolved URL', { timeout: 180_000 }, async () => {
    const fx = fixture();
    const child = await runEngineChild({
      env: {
        ...env,
        CHILD_MODE: 'start',
        CHILD_PLAN: fx.plan,
        CHILD_STATE: fx.stateDir,
        CHILD_EFFECTS: fx.dir,
        CHILD_REGISTRY: 'canary',
      },
    });
    expect(child.result, child.stderr).toMatchObject({ state: 'rolled-back', completed: false });
    // The leak paths really ran: each shows the redaction marker where the secret was.
    expect(String(child.result?.error)).toMatch(/connection to \[REDACTED\] refused/);
    expect(child.stderr).toMatch(/"msg":"connecting to \[REDACTED\]"/);
    const trail = fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail.jsonl'), 'utf8');
    expect(trail).toMatch(/"reason":"cannot reach \[REDACTED\]"/);
    const status = await cli(fx, ['status', String(child.result?.run), '-o', 'json']);
    expect(status.stdout).toMatch(/\[REDACTED\]/);
    expectNoCanary(fx.stateDir, { stdout: child.stdout + status.stdout, stderr: child.stderr + status.stderr });
  });
});
