/**
 * The run commands through the real CLI (a child process each): dry run, run, --until and resume,
 * approvals, pause/abort/rollback, refusal of a changed plan, and bad input (exit 2, a precise
 * message, nothing changed).
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli, type CliResult } from '../support/cli.js';
import { localPlan, type PlanDir } from './fixtures.js';

const SOURCE = 'postgresql://app:source-pw-5678@127.0.0.1:5432/app';
const env = { SOURCE_APP_DB: SOURCE, HANDOFF_STATE_DIR: '' };

const dirs: PlanDir[] = [];
afterAll(() => {
  for (const dir of dirs) dir.cleanup();
});

function fixture(options: Parameters<typeof localPlan>[0] = {}): PlanDir {
  const dir = localPlan(options);
  dirs.push(dir);
  return dir;
}

/** The CLI in this process (its real argument parsing and exit codes), to keep the many cases quick. */
async function cli(fx: PlanDir, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const code = await main([...args, '--state-dir', fx.stateDir], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, ...env, ...extraEnv },
    cwd: fx.dir,
    isTTY: false,
  });
  return { code, signal: null, stdout, stderr, elapsedMs: Date.now() - started };
}

/** The CLI as its own process (absolute paths: the child runs in the repository, where tsx resolves). */
function cliProcess(fx: PlanDir, args: string[]): Promise<CliResult> {
  return runCli([...args, '--state-dir', fx.stateDir], { env, timeoutMs: 120_000 });
}

function json(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

function expectBadInput(result: CliResult, message: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('handoff run', () => {
  it('prints the plan with --dry-run (text and JSON) and writes nothing', async () => {
    const fx = fixture({ approvals: '    - { before: finalize, role: db-owner }' });
    const text = await cli(fx, ['run', '-f', fx.plan, '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/1\. preflight \(pending\)\n\s+- resolve-secrets \[pending\]/);
    expect(text.stdout).toMatch(/replicate \(skipped: the plan has no data section\)/);
    expect(text.stdout).toMatch(/approval by role db-owner \(waits up to 3600s\)/);
    const doc = await cli(fx, ['run', '-f', fx.plan, '--dry-run', '-o', 'json', '--until', 'verify']);
    expect(doc.code).toBe(0);
    expect(json(doc)).toMatchObject({ plan: 'engine-cli', runId: null, until: 'verify', refusal: null });
    expect((json(doc).stages as unknown[]).length).toBe(8);
    expect(fs.existsSync(fx.stateDir)).toBe(false);
  });

  it(
    'runs a local plan to its end, then status lists it and shows its stages and steps',
    { timeout: 180_000 },
    async () => {
      const fx = fixture();
      const run = await cliProcess(fx, ['run', '-f', fx.plan, '-o', 'json']);
      expect(run.code, run.stderr).toBe(0);
      const outcome = json(run);
      expect(outcome).toMatchObject({ plan: 'engine-cli', state: 'succeeded', completed: true });
      const list = await cli(fx, ['status', '-o', 'json']);
      expect(json(list)).toEqual({
        runs: [
          {
            id: outcome.run,
            plan: 'engine-cli',
            stage: 'finalize',
            state: 'succeeded',
            started: expect.any(String),
            updated: expect.any(String),
          },
        ],
      });
      const one = json(await cli(fx, ['status', String(outcome.run), '-o', 'json']));
      expect(one).toMatchObject({ id: outcome.run, state: 'succeeded', error: null });
      const stages = one.stages as Array<{
        name: string;
        state: string;
        steps: Array<{ name: string; state: string }>;
      }>;
      expect(stages.map((s) => [s.name, s.state])).toEqual([
        ['preflight', 'done'],
        ['provision', 'skipped'],
        ['replicate', 'skipped'],
        ['verify', 'skipped'],
        ['shift', 'skipped'],
        ['cutover', 'skipped'],
        ['bake', 'skipped'],
        ['finalize', 'done'],
      ]);
      expect(stages[7]?.steps).toEqual([expect.objectContaining({ name: 'write-checkpoint', state: 'done' })]);
      const audit = await cli(fx, ['audit', 'verify', '-o', 'json']);
      expect(audit.code, audit.stdout).toBe(0);
    },
  );

  it('stops after --until as paused (exit 0), resumes from there, and a changed plan is refused meanwhile', async () => {
    const fx = fixture();
    const first = json(await cli(fx, ['run', '-f', fx.plan, '--until', 'preflight', '-o', 'json']));
    expect(first).toMatchObject({ state: 'paused', stage: 'preflight', reason: 'until preflight', completed: true });
    fs.appendFileSync(fx.plan, '  rollback: { automatic: false }\n');
    const refused = await cli(fx, ['run', '-f', fx.plan]);
    expectBadInput(
      refused,
      new RegExp(
        `unfinished run ${String(first.run)} \\(paused at stage preflight\\) started from a different version of the plan.*handoff resume ${String(first.run)}`,
      ),
    );
    const resumed = await cli(fx, ['resume', String(first.run), '-o', 'json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(json(resumed)).toMatchObject({ run: first.run, state: 'succeeded' });
    const again = await cli(fx, ['resume', String(first.run)]);
    expectBadInput(again, /is succeeded; there is nothing to resume/);
  });

  it(
    'waits for approval, refuses a wrong role, records the right one, and pause/abort/rollback act on a paused run',
    { timeout: 180_000 },
    async () => {
      const fx = fixture({ approvals: '    - { before: finalize, role: db-owner, timeout: 1s }' });
      const waited = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
      expect(waited.code).toBe(1);
      const run = json(waited);
      expect(run).toMatchObject({ state: 'paused', stage: 'finalize' });
      expect(String(run.reason)).toMatch(/waiting for approval of stage finalize by role db-owner \(waited 1s\)/);
      const id = String(run.run);
      const before = (await cli(fx, ['status', id, '-o', 'json'])).stdout;

      expectBadInput(
        await cli(fx, ['approve', id, '--stage', 'finalize', '--as', 'eve', '--role', 'intern']),
        /role "intern" cannot approve stage finalize .* asks for role db-owner/,
      );
      expectBadInput(
        await cli(fx, ['approve', id, '--stage', 'cutover', '--as', 'eve', '--role', 'db-owner']),
        /needs no approval/,
      );
      expectBadInput(
        await cli(fx, ['approve', id, '--stage', 'later', '--as', 'eve', '--role', 'db-owner']),
        /--stage: "later" is not a stage/,
      );
      expectBadInput(
        await cli(fx, ['approve', id, '--stage', 'finalize', '--role', 'db-owner']),
        /required option '--as <name>'/,
      );
      expectBadInput(
        await cli(fx, ['approve', 'no-such-run', '--stage', 'finalize', '--as', 'eve', '--role', 'db-owner']),
        /there is no run no-such-run/,
      );
      expectBadInput(await cli(fx, ['pause', 'no-such-run']), /there is no run no-such-run/);
      expectBadInput(await cli(fx, ['abort', 'no-such-run']), /there is no run no-such-run/);
      expectBadInput(await cli(fx, ['rollback', 'no-such-run']), /there is no run no-such-run/);
      expectBadInput(await cli(fx, ['resume', 'no-such-run']), /there is no run no-such-run/);
      expectBadInput(await cli(fx, ['status', 'no-such-run']), /there is no run no-such-run/);
      expectBadInput(await cli(fx, ['resume', id, '--until', 'nowhere']), /--until: "nowhere" is not a stage/);
      expectBadInput(await cli(fx, ['pause', id, '-o', 'yaml']), /-o: "yaml" is not an output format/);
      expectBadInput(await cli(fx, ['abort', id, '--force']), /unknown option '--force'/);
      expect((await cli(fx, ['status', id, '-o', 'json'])).stdout).toBe(before);

      const approved = await cli(fx, [
        'approve',
        id,
        '--stage',
        'finalize',
        '--as',
        'carol',
        '--role',
        'db-owner',
        '-o',
        'json',
      ]);
      expect(approved.code, approved.stderr).toBe(0);
      expect(json(approved)).toMatchObject({
        run: id,
        stage: 'finalize',
        by: 'carol',
        role: 'db-owner',
        already: false,
      });

      const paused = await cli(fx, ['pause', id, '-o', 'json']);
      expect(json(paused)).toMatchObject({ state: 'paused', requested: false });
      const aborted = await cli(fx, ['abort', id, '--as', 'dave', '-o', 'json']);
      expect(json(aborted)).toMatchObject({ state: 'aborted', reason: 'aborted by dave', requested: false });
      expectBadInput(await cli(fx, ['resume', id]), /is aborted; there is nothing to resume/);
      const rolled = await cli(fx, ['rollback', id, '-o', 'json']);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(json(rolled)).toMatchObject({ state: 'rolled-back' });
      const detail = json(await cli(fx, ['status', id, '-o', 'json']));
      const steps = (detail.stages as Array<{ steps: Array<{ state: string }> }>).flatMap((s) => s.steps);
      expect(steps.filter((s) => s.state !== 'pending').every((s) => s.state === 'undone')).toBe(true);
      expect(detail.approvals).toEqual([{ stage: 'finalize', by: 'carol', role: 'db-owner', at: expect.any(String) }]);
      const audit = await cli(fx, ['audit', 'verify', '-o', 'json']);
      expect(audit.code, audit.stdout).toBe(0);
    },
  );

  it('refuses bad input with exit 2 and creates no state directory', async () => {
    const fx = fixture();
    expectBadInput(await cli(fx, ['run']), /required option '-f, --file <plan>'/);
    // An unknown option is named even when a required one is missing too (commander checked the
    // required ones first and never said that --zzz is no option).
    const unknown = await cli(fx, ['run', '--zzz']);
    expectBadInput(unknown, /unknown option '--zzz'/);
    expect(unknown.stderr).not.toMatch(/required option/);
    expectBadInput(await cli(fx, ['approve', 'r1', '--stage', 'finalize', '--zzz']), /unknown option '--zzz'/);
    expectBadInput(
      await cli(fx, ['run', '-f', fx.plan, '--until', 'soon']),
      /--until: "soon" is not a stage; use one of preflight/,
    );
    expectBadInput(await cli(fx, ['run', '-f', fx.plan, '-o', 'xml']), /-o: "xml" is not an output format/);
    expectBadInput(
      await cli(fx, ['run', '-f', `${fx.dir}/missing.yaml`]),
      /missing\.yaml:1:1: cannot read the plan file: no such file/,
    );
    expectBadInput(
      await cli(fx, ['run', '-f', fx.plan], { SOURCE_APP_DB: '' }),
      /environment variable SOURCE_APP_DB is empty/,
    );
    fs.writeFileSync(
      `${fx.dir}/bad.yaml`,
      'apiVersion: handoff.dev/v1alpha1\nkind: Migration\nmetadata: { name: x }\nspec: { sorce: {} }\n',
    );
    expectBadInput(await cli(fx, ['run', '-f', `${fx.dir}/bad.yaml`]), /bad\.yaml:4:\d+/);
    const none = await cli(fx, ['status', '-o', 'json']);
    expect(none.code).toBe(0);
    expect(json(none)).toEqual({ runs: [] });
    expect(fs.existsSync(fx.stateDir)).toBe(false);
  });
});
