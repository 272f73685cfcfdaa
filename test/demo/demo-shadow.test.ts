/**
 * Shadow reads end to end through the real CLI (issue 15's demo lines): `handoff demo --shadow 0.2`
 * compares hundreds of real reads in the dark and goes on to the shift with nothing counted; with
 * `--inject-target-diff 0.05` the target's service alters one field on that share of its answers,
 * and the shadow gate stops the run before any read is moved, naming the changed path, with the
 * evidence in the differences file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/demo/summary.js';
import { runCli } from '../support/cli.js';
import { expectCleanRun } from '../support/demo-verdict.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

function stateDir(): string {
  const tmp = makeTempDir('handoff-demo-shadow-');
  cleanups.push(tmp.cleanup);
  return path.join(tmp.dir, 'state');
}

/** The differences file's lines, for an assertion's message. */
function evidenceOf(dir: string, file: string | undefined): string {
  if (file === undefined) return 'no differences file';
  const at = path.isAbsolute(file) ? file : path.join(dir, file);
  return fs.existsSync(at) ? `differences (${at}):\n${fs.readFileSync(at, 'utf8')}` : `no differences file at ${at}`;
}

describe('handoff demo --shadow', () => {
  it('compares more than 500 reads with no difference, adds no failed request, and goes on through the shift', async () => {
    const dir = stateDir();
    const result = await runCli(['demo', '--shadow', '0.2', '--rows', '5000', '-o', 'json', '--state-dir', dir], {
      timeoutMs: 240_000,
    });
    const summary = JSON.parse(result.stdout) as DemoSummary;
    expectCleanRun(result, summary);
    // A difference on an honest target is a false alarm: show its evidence, so it can be told apart.
    expect(summary.shadow?.differences, evidenceOf(dir, summary.shadow?.evidenceFile)).toBe(0);
    expect(summary.shadow?.passed).toBe(true);
    expect(summary.shadow?.compared).toBeGreaterThan(500);
    expect(summary.requests.failed).toBe(0);
    expect(summary.latency.stages.shadow?.reads.count).toBeGreaterThan(0);
    for (const stage of ['shift', 'cutover', 'finalize'])
      expect(summary.stages[stage]?.durationMs, stage).toEqual(expect.any(Number));
  }, 300_000);

  it('with the target altering 5 % of its answers, stops before the shift, names the changed path and keeps the evidence', async () => {
    const dir = stateDir();
    const result = await runCli(
      ['demo', '--shadow', '0.2', '--inject-target-diff', '0.05', '--rows', '5000', '-o', 'json', '--state-dir', dir],
      { timeoutMs: 240_000 },
    );
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as DemoSummary;
    expect(summary.ok).toBe(false);
    expect(summary.shadow?.passed).toBe(false);
    expect(summary.shadow?.differences).toBeGreaterThan(0);
    expect(summary.shadow?.changedPaths.join(' ')).toMatch(/\.(owner|item)\b/);
    // Nothing moved: no shift stage ran, and every client answer came from the source.
    expect(summary.stages.shift).toBeUndefined();
    expect(summary.latency.stages.shift).toBeUndefined();
    const file = summary.shadow?.evidenceFile ?? '';
    const evidence = fs
      .readFileSync(path.isAbsolute(file) ? file : path.join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { method: string; paths: string[]; sourceStatus: number });
    expect(evidence.length).toBeGreaterThan(0);
    for (const record of evidence) {
      expect(record).toMatchObject({ method: 'GET', sourceStatus: 200 });
      expect(record.paths.join(' ')).toMatch(/\.(owner|item)\b/);
    }
  }, 300_000);
});
