/**
 * Reports of runs made by the real engine through the CLI (not synthetic records): a run to its
 * end and a run that fails in preflight and rolls back. The plan's secrets are unique canaries
 * (one from the environment, one from a file); the written reports must hold none of them, in any
 * encoding, and must agree with what the engine recorded.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { secretForms } from '../../src/common/redact.js';
import { localPlan, type PlanDir } from '../engine/fixtures.js';
import { runCliInProcess, type CliResult } from '../support/cli.js';

const sourcePassword = `srcRep${randomBytes(6).toString('hex')}`;
const targetPassword = `tgtRep${randomBytes(6).toString('hex')}`;
const env = { SOURCE_APP_DB: `postgresql://app:${sourcePassword}@127.0.0.1:5432/app`, HANDOFF_STATE_DIR: '' };

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function fixture(extra = ''): PlanDir {
  const fx = localPlan({
    name: 'report-real',
    targetSecret: `postgresql://app:${targetPassword}@127.0.0.1:5432/app`,
    extra,
  });
  cleanups.push(fx.cleanup);
  return fx;
}

function cli(fx: PlanDir, args: string[]): Promise<CliResult> {
  return runCliInProcess([...args, '--state-dir', fx.stateDir], { cwd: fx.dir, env });
}

function expectNoCanary(file: string): void {
  const bytes = fs.readFileSync(file);
  for (const form of [...secretForms(sourcePassword), ...secretForms(targetPassword)]) {
    expect(bytes.includes(form), `${form} in ${file}`).toBe(false);
  }
}

async function report(fx: PlanDir, runId: string, format: 'html' | 'md'): Promise<string> {
  const result = await cli(fx, ['report', runId, '--format', format, '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  const file = (JSON.parse(result.stdout) as { report: string }).report;
  expectNoCanary(file);
  return fs.readFileSync(file, 'utf8');
}

describe('reports of real engine runs', () => {
  it(
    'describe a run to its end: its stages as the engine recorded them and a valid trail',
    { timeout: 180_000 },
    async () => {
      const fx = fixture();
      const run = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
      expect(run.code, run.stderr).toBe(0);
      const id = String((JSON.parse(run.stdout) as { run: string }).run);
      const status = JSON.parse((await cli(fx, ['status', id, '-o', 'json'])).stdout) as {
        stages: Array<{ name: string; state: string }>;
      };
      const md = await report(fx, id, 'md');
      expect(md).toMatch(/^# handoff report: report-real \(succeeded\)/);
      for (const stage of status.stages.filter((s) => s.state === 'done' || s.state === 'skipped')) {
        expect(md).toMatch(new RegExp(`\\| ${stage.name} \\| ${stage.state} \\|`));
      }
      expect(md).toContain('| verification | valid (key not pinned: valid means internally consistent) |');
      const html = await report(fx, id, 'html');
      expect(html).toContain('Succeeded');
    },
  );

  it(
    'describe a run that failed in preflight and rolled back, with the reason and no secret',
    { timeout: 180_000 },
    async () => {
      const fx = fixture('  data:\n    - database: app\n');
      const run = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
      expect(run.code, run.stderr).toBe(1);
      const outcome = JSON.parse(run.stdout) as { run: string; state: string };
      expect(outcome.state).toBe('rolled-back');
      const md = await report(fx, outcome.run, 'md');
      expect(md).toMatch(/^# handoff report: report-real \(rolled back\)/);
      expect(md).toMatch(/\| preflight \| failed \|/);
      expect(md).toMatch(/## Rollbacks\n\n\| from stage \| why \|/);
      expect(md).toContain('| verification | valid (key not pinned: valid means internally consistent) |');
    },
  );
});
