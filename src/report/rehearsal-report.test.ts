import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.js';
import type { RehearsalResult } from '../rehearsal/faults/types.js';
import { renderRehearsalHtml, renderRehearsalMarkdown, writeRehearsalReport } from './rehearsal-report.js';
import { readRehearsalResult, rehearsalResultFile } from './rehearsal-result.js';
import { ALL_INVARIANTS_HOLD } from '../../test/support/invariants.js';

const holding = { ...ALL_INVARIANTS_HOLD };

const passing: RehearsalResult = {
  ok: true,
  runId: 'run-1',
  faults: [
    {
      name: 'replication-partition',
      kind: 'network',
      stage: 'replicate',
      injectedAt: '2026-12-04T08:00:01.250Z',
      clearedAt: '2026-12-04T08:00:06.250Z',
      reaction: 'retry',
      recoveryMs: 6400,
      failedRequests: 0,
      detail: 'proxy replication disabled',
    },
    {
      name: 'kill-target-postgres',
      kind: 'process',
      stage: 'bake',
      injectedAt: '2026-12-04T08:01:00.000Z',
      clearedAt: '2026-12-04T08:01:00.500Z',
      reaction: 'failback',
      recoveryMs: 3210,
      failedRequests: 17,
      detail: 'SIGKILL pid 4242',
    },
  ],
  invariants: holding,
  violated: [],
  historyFile: '/state/rehearsal/history.jsonl',
};

const failing: RehearsalResult = {
  ...passing,
  ok: false,
  faults: [{ ...passing.faults[0]!, name: 'shift-5xx', kind: 'http', reaction: 'rollback', recoveryMs: null }],
  invariants: { ...holding, lost: 3, dataIdentical: false, leftBehind: ['slot handoff_1'] },
  violated: ['lost', 'dataIdentical', 'leftBehind'],
};

describe('rehearsal report', () => {
  it('Markdown of a passing rehearsal: verdict, every invariant holding, each fault with reaction, recovery and failed requests', () => {
    const md = renderRehearsalMarkdown(passing);
    expect(md).toContain('# Rehearsal');
    expect(md).toContain('**PASSED**. Every invariant held through 2 injected faults.');
    for (const name of ['lost', 'unexpected', 'duplicated', 'stale', 'wrongTotal', 'negativeValue']) {
      expect(md).toMatch(new RegExp(`\\| ${name} \\(.*\\) \\| 0 \\| yes \\|`));
    }
    expect(md).not.toContain('VIOLATED');
    expect(md).toContain(
      '| replication-partition | network | replicate | 2026-12-04 08:00:01.250 UTC | 2026-12-04 08:00:06.250 UTC | proxy replication disabled | retry | 6.40 s | 0 |',
    );
    expect(md).toContain('| kill-target-postgres | process | bake |');
    expect(md).toContain('| SIGKILL pid 4242 | failback | 3.21 s | 17 |');
  });

  it('Markdown of a failing rehearsal: the violated invariants first and marked, a fault that never recovered said so', () => {
    const md = renderRehearsalMarkdown(failing);
    expect(md).toContain('**FAILED**. Violated: lost, dataIdentical, leftBehind.');
    expect(md).toContain('Never recovered: shift-5xx.');
    const rows = md.split('\n').filter((l) => /^\| [a-zA-Z]+ \(/.test(l));
    expect(rows.slice(0, 3).map((r) => r.split(' ')[1])).toEqual(['lost', 'dataIdentical', 'leftBehind']);
    expect(rows[0]).toContain('| 3 | **VIOLATED** |');
    expect(rows[2]).toContain('| slot handoff_1 | **VIOLATED** |');
    expect(rows.slice(3).every((r) => r.endsWith('| yes |'))).toBe(true);
    expect(md).toContain('| rollback | never | 0 |');
  });

  it('HTML of a passing and a failing rehearsal: self-contained, badges, violated rows first', () => {
    const good = renderRehearsalHtml(passing);
    expect(good).toMatch(/^<!doctype html>/);
    expect(good).not.toMatch(/<script|<link|src="http/);
    expect(good).toContain('tone-good">Passed</span>');
    expect(good).toContain('<td class="num">17</td>');
    expect(good).not.toContain('VIOLATED');
    const bad = renderRehearsalHtml(failing);
    expect(bad).toContain('tone-bad">Failed</span>');
    expect(bad.indexOf('<code>lost</code>')).toBeLessThan(bad.indexOf('<code>unexpected</code>'));
    expect(bad.indexOf('<code>leftBehind</code>')).toBeLessThan(bad.indexOf('<code>unexpected</code>'));
    expect(bad.match(/>VIOLATED</g)).toHaveLength(3);
    expect(bad).toContain('<strong>Never recovered:</strong> shift-5xx');
  });

  it('a fault that was never injected says so, and is not counted as never recovered', () => {
    const result: RehearsalResult = {
      ...passing,
      faults: [
        {
          ...passing.faults[0]!,
          name: 'late-fault',
          injectedAt: null,
          clearedAt: null,
          reaction: 'none',
          recoveryMs: null,
          detail: 'its stage never started',
        },
      ],
    };
    const md = renderRehearsalMarkdown(result);
    expect(md).toContain(
      '| late-fault | network | replicate | not injected | – | its stage never started | none | – | 0 |',
    );
    expect(md).not.toContain('Never recovered');
    expect(renderRehearsalHtml(result)).not.toContain('>never<');
  });

  it("escapes a fault's name and detail in HTML and in Markdown", () => {
    const evil: RehearsalResult = {
      ...passing,
      faults: [{ ...passing.faults[0]!, name: '<img src=x onerror=alert(1)>|"x"', detail: 'a </td><script>' }],
    };
    const html = renderRehearsalHtml(evil);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;|&quot;x&quot;');
    const md = renderRehearsalMarkdown(evil);
    expect(md).toContain('&lt;img src=x onerror=alert(1)&gt;\\|"x"');
    expect(md).not.toContain('<script');
  });
});

describe('writeRehearsalReport and readRehearsalResult', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes report.md and report.html under <stateDir>/rehearsal, mode 0600, passwords in URLs scrubbed', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-rehearsal-report-'));
    const result: RehearsalResult = {
      ...passing,
      faults: [{ ...passing.faults[0]!, detail: 'upstream postgres://app:s3cret@127.0.0.1:5432/db' }],
    };
    const files = writeRehearsalReport(dir, result);
    expect(files).toEqual([path.join(dir, 'rehearsal', 'report.md'), path.join(dir, 'rehearsal', 'report.html')]);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toContain('replication-partition');
      expect(text).not.toContain('s3cret');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
  });

  it('reads a written result back; none is null; a malformed one is bad input naming the file and the field', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-rehearsal-result-'));
    expect(readRehearsalResult(dir)).toBeNull();
    fs.mkdirSync(path.join(dir, 'rehearsal'));
    fs.writeFileSync(rehearsalResultFile(dir), JSON.stringify(passing));
    expect(readRehearsalResult(dir)).toEqual(passing);
    const notInjected = { ...passing, faults: [{ ...passing.faults[0]!, injectedAt: null, clearedAt: null }] };
    fs.writeFileSync(rehearsalResultFile(dir), JSON.stringify(notInjected));
    expect(readRehearsalResult(dir)).toEqual(notInjected);
    fs.writeFileSync(
      rehearsalResultFile(dir),
      JSON.stringify({ ...passing, faults: [{ ...passing.faults[0], recoveryMs: 'soon' }] }),
    );
    expect(() => readRehearsalResult(dir!)).toThrow(InputError);
    expect(() => readRehearsalResult(dir!)).toThrow(/result\.json: faults\.0\.recoveryMs: /);
    // The runner's shape: `run: {id, state, executors}` names the run.
    const { runId: _runId, ...unnamed } = passing;
    fs.writeFileSync(
      rehearsalResultFile(dir),
      JSON.stringify({ ...unnamed, run: { id: 'run-9', state: 'succeeded', executors: 2 } }),
    );
    expect(readRehearsalResult(dir)?.runId).toBe('run-9');
    fs.writeFileSync(rehearsalResultFile(dir), '{');
    expect(() => readRehearsalResult(dir!)).toThrow(/result\.json: not JSON/);
  });
});
