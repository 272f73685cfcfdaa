/**
 * `handoff report RUN` from the command line, as a user runs it. (runCli's child resolves tsx from
 * its working directory, so these run in the repository and pass absolute paths.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { listFiles, makeTempDir } from '../support/tmp.js';
import { URL_PASSWORD, writeSyntheticRuns } from './synthetic-run.js';

describe('handoff report', () => {
  const tmp = makeTempDir('handoff-report-cli-');
  const stateDir = path.join(tmp.dir, 'state');
  const env = { HANDOFF_STATE_DIR: '' };

  beforeAll(() => {
    writeSyntheticRuns(stateDir);
  });
  afterAll(() => tmp.cleanup());

  it('writes <state-dir>/reports/RUN.html by default and prints its path', async () => {
    const result = await runCli(['report', 'run-succeeded', '--state-dir', stateDir], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const file = path.join(stateDir, 'reports', 'run-succeeded.html');
    expect(result.stdout).toBe(`${file}\n`);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain('<h1>orders-to-gke');
    expect(fs.statSync(file).mode & 0o077).toBe(0);
  }, 120_000);

  it('writes Markdown to --out (creating its directory) and prints {"report": path} with -o json', async () => {
    const result = await runCli(
      [
        'report',
        'run-rolled-back',
        '--format',
        'md',
        '--out',
        path.join(tmp.dir, 'out', 'rolled-back.md'),
        '--state-dir',
        stateDir,
        '-o',
        'json',
      ],
      { env },
    );
    expect(result.code).toBe(0);
    const file = path.join(tmp.dir, 'out', 'rolled-back.md');
    expect(JSON.parse(result.stdout)).toEqual({ report: file });
    const md = fs.readFileSync(file, 'utf8');
    expect(md).toMatch(/^# handoff report: orders-to-gke \(rolled back\)/);
    expect(md).not.toContain(URL_PASSWORD);
  }, 120_000);

  it('finds the state directory through HANDOFF_STATE_DIR', async () => {
    const result = await runCli(['report', 'run-rolled-back', '-o', 'json'], { env: { HANDOFF_STATE_DIR: stateDir } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ report: path.join(stateDir, 'reports', 'run-rolled-back.html') });
  }, 120_000);

  it('refuses an unknown run, an unknown format and a missing run argument with exit 2, writing nothing', async () => {
    const before = listFiles(tmp.dir).sort();
    const unknown = await runCli(['report', 'no-such-run', '--state-dir', stateDir], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('no-such-run');
    expect(unknown.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const format = await runCli(['report', 'run-succeeded', '--format', 'pdf', '--state-dir', stateDir], { env });
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format: "pdf" is not a report format; use html or md');

    const missing = await runCli(['report', '--state-dir', stateDir], { env });
    expect(missing.code).toBe(2);

    // A directory where the report file belongs: refused, and no temporary file left beside it.
    const dirOut = path.join(tmp.dir, 'out-dir');
    fs.mkdirSync(dirOut);
    const isDir = await runCli(['report', 'run-succeeded', '--out', dirOut, '--state-dir', stateDir], { env });
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toContain(`cannot write the report to ${dirOut} (EISDIR); choose another --out`);
    expect(fs.readdirSync(tmp.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    fs.rmdirSync(dirOut);

    const noStore = await runCli(['report', 'r1', '--state-dir', path.join(tmp.dir, 'empty')], { env });
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('no state store');
    expect(listFiles(tmp.dir).sort()).toEqual(before);
  }, 240_000);
});
