/**
 * The run report of a rehearsed run (`<stateDir>/rehearsal/result.json` naming it) has a Rehearsal
 * section: the verdict, the invariants and the fault table; other runs have none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import type { RehearsalResult } from '../../src/rehearsal/faults/types.js';
import { rehearsalResultFile } from '../../src/report/rehearsal-result.js';
import { writeRunReport } from '../../src/report/write.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { SECRET, writeSyntheticRuns } from './synthetic-run.js';

const result: RehearsalResult = {
  ok: false,
  runId: 'run-succeeded',
  faults: [
    {
      name: 'target-<5xx>',
      kind: 'http',
      stage: 'shift',
      injectedAt: '2026-12-04T08:00:01.250Z',
      clearedAt: '2026-12-04T08:00:06.250Z',
      reaction: 'rollback',
      recoveryMs: 7125,
      failedRequests: 42,
      detail: `503 on 20 % of requests (${SECRET})`,
    },
  ],
  invariants: {
    lost: 0,
    unexpected: 0,
    duplicated: 2,
    stale: 0,
    wrongTotal: 0,
    negativeValue: 0,
    readYourWritesViolations: 0,
    dataIdentical: true,
    auditValid: true,
    leftBehind: [],
  },
  violated: ['duplicated'],
};

describe('handoff report of a rehearsed run', () => {
  const tmp = makeTempDir('handoff-report-rehearsal-');
  const stateDir = path.join(tmp.dir, 'state');
  const redactor = createRedactor([SECRET]);
  const report = (runId: string, format: 'html' | 'md'): string =>
    fs.readFileSync(writeRunReport({ stateDir, runId, format, redactor }), 'utf8');

  beforeAll(() => {
    writeSyntheticRuns(stateDir);
    fs.mkdirSync(path.dirname(rehearsalResultFile(stateDir)), { recursive: true });
    fs.writeFileSync(rehearsalResultFile(stateDir), JSON.stringify(result));
  });
  afterAll(() => tmp.cleanup());

  it('HTML: a Rehearsal section (linked from the contents) with the violated invariant first and the fault escaped', () => {
    const html = report('run-succeeded', 'html');
    expect(html).toContain('<a href="#rehearsal">Rehearsal</a>');
    const section = html.slice(html.indexOf('<section id="rehearsal"'), html.indexOf('<section id="gates"'));
    expect(section).toContain('tone-bad">Failed</span> Violated: duplicated.');
    expect(section.indexOf('<code>duplicated</code>')).toBeLessThan(section.indexOf('<code>lost</code>'));
    expect(section).toContain('target-&lt;5xx&gt;');
    expect(section).toContain('7.13 s');
    expect(section).toContain('<td class="num">42</td>');
    expect(html).not.toContain(SECRET);
  });

  it('Markdown: the same section; a run the result does not name has none', () => {
    const md = report('run-succeeded', 'md');
    expect(md).toContain('## Rehearsal');
    expect(md).toContain('| duplicated (writes applied more than once) | 2 | **VIOLATED** |');
    expect(md).toMatch(/\| target-&lt;5xx&gt; \| http \| shift \| .* \| rollback \| 7\.13 s \| 42 \|/);
    expect(md).not.toContain(SECRET);
    expect(report('run-rolled-back', 'md')).not.toContain('## Rehearsal');
    expect(report('run-rolled-back', 'html')).not.toContain('id="rehearsal"');
  });

  it('a result.json that cannot be read is said in the section; the report is still written', () => {
    const other = path.join(tmp.dir, 'broken');
    writeSyntheticRuns(other);
    fs.mkdirSync(path.join(other, 'rehearsal'));
    fs.writeFileSync(rehearsalResultFile(other), JSON.stringify({ ...result, ok: 'yes' }));
    const md = fs.readFileSync(
      writeRunReport({ stateDir: other, runId: 'run-succeeded', format: 'md', redactor }),
      'utf8',
    );
    expect(md).toMatch(/## Rehearsal\n\nThe rehearsal result cannot be read: .*result\.json: ok: /);
  });

  it('the command line: handoff report --format md includes it', async () => {
    const out = path.join(tmp.dir, 'cli.md');
    const cli = await runCli(['report', 'run-succeeded', '--format', 'md', '--out', out, '--state-dir', stateDir], {
      env: { HANDOFF_STATE_DIR: '' },
    });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('| duplicated (writes applied more than once) | 2 | **VIOLATED** |');
  }, 60_000);
});
