import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../common/redact.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { SECRET, writeSyntheticRuns, type SyntheticRuns } from '../../test/report/synthetic-run.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReportModel } from './model.js';
import type { ReportModel } from './model-types.js';

describe('the HTML and Markdown renderers', () => {
  const tmp = makeTempDir('handoff-report-render-');
  const stateDir = path.join(tmp.dir, 'state');
  let runs: SyntheticRuns;
  let succeeded: ReportModel;
  let rolledBack: ReportModel;

  beforeAll(() => {
    runs = writeSyntheticRuns(stateDir);
    succeeded = buildReportModel({ stateDir, runId: runs.succeeded, redactor: createRedactor([SECRET]) });
    rolledBack = buildReportModel({ stateDir, runId: runs.rolledBack, redactor: createRedactor([SECRET]) });
  });
  afterAll(() => tmp.cleanup());

  it('writes one self-contained HTML document: no script, no external URL in src/href, a strict CSP', () => {
    const html = renderHtml(succeeded);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)="(?!#)/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html.match(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="chart"/g)).toHaveLength(4);
    for (const id of [
      'moved',
      'timeline',
      'traffic',
      'replication',
      'cutover',
      'verification',
      'gates',
      'approvals',
      'rollbacks',
      'risks',
      'cleanup',
      'audit',
    ]) {
      expect(html).toContain(`<section id="${id}"`);
    }
    expect(html).toContain(succeeded.audit.head.hash);
  });

  it('escapes every text it did not write itself', () => {
    const hostile = '<img src=x onerror=alert(1)> | "quoted" & more';
    const model: ReportModel = {
      ...rolledBack,
      run: { ...rolledBack.run, reason: hostile, plan: `${hostile}plan` },
      gates: rolledBack.gates.map((g) => ({
        ...g,
        reason: hostile,
        reasons: [hostile],
        checks: g.checks.map((c) => ({ ...c, check: hostile })),
      })),
      moved: { ...rolledBack.moved, databases: [{ database: hostile, tables: [hostile] }] },
    };
    const html = renderHtml(model);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; | &quot;quoted&quot; &amp; more');
    const md = renderMarkdown(model);
    // Outside code spans (where Markdown shows text as it is), no HTML.
    expect(md.replace(/`[^`\n]*`/g, '')).not.toContain('<img');
    // Inside table cells a pipe is escaped, so no row gains a column.
    const gateRows = md.split('\n').filter((line) => line.startsWith('| ') && line.includes('onerror'));
    expect(gateRows.length).toBeGreaterThan(0);
    for (const row of gateRows) expect(row).toContain('\\|');
  });

  it('draws an empty run without charts and says what is missing', () => {
    const model: ReportModel = {
      ...succeeded,
      weights: [],
      traffic: [],
      lag: [],
      cutover: null,
      verification: [],
      gates: [],
      approvals: [],
      cleanup: [],
      stages: [],
      totals: { requests: 0, failedRequests: 0, bySite: {}, clients: null },
    };
    const html = renderHtml(model);
    expect(html).not.toContain('<svg xmlns');
    expect(html).toContain('No traffic was moved or measured in this run.');
    expect(html).toContain('No replication lag was recorded.');
    expect(html).toContain('No stage was started.');
    const md = renderMarkdown(model);
    expect(md).toContain('_No cutover was measured._');
    expect(md).toContain('_No verification result was recorded._');
  });

  it("shows the write pause the clients felt when the run has it, the router's beside it", () => {
    const card = (html: string): string | undefined =>
      /<div class="card[^"]*"><div class="label">Write pause<\/div>(.*?)<\/div><\/div>/.exec(html)?.[1];
    // No clients' figure (a run without the demo's load): the router's, as before.
    expect(card(renderHtml(succeeded))).toBe('<div class="value">182 ms</div><div class="sub">37 requests held');
    const clients = { offered: 900, sent: 900, notSent: 0, failed: 0, routerErrors: 0, notes: [], writePauseMs: 240 };
    const model: ReportModel = { ...succeeded, totals: { ...succeeded.totals, clients } };
    const html = renderHtml(model);
    expect(card(html)).toBe(
      '<div class="value">240 ms</div><div class="sub">at the clients; router 182 ms, 37 requests held',
    );
    expect(html).toContain(
      '<th scope="row">write pause at the clients (the longest write in flight during the hold)</th><td><strong>240 ms</strong></td>',
    );
    const md = renderMarkdown(model);
    expect(md).toContain('| write pause | 240 ms at the clients (router 182 ms) |');
    expect(md).toContain('| write pause at the clients | 240 ms |');
    expect(md).toContain('| write pause at the router | 182 ms |');
    // Nothing held, or not measured, at the clients: null, and the router's figure stands alone.
    const unmeasured = renderHtml({
      ...model,
      totals: { ...model.totals, clients: { ...clients, writePauseMs: null } },
    });
    expect(card(unmeasured)).toBe('<div class="value">182 ms</div><div class="sub">37 requests held');
    expect(unmeasured).not.toContain('write pause at the clients');
  });

  it('puts the same facts in Markdown: outcome, write pause, data, approvals, gates and the trail head', () => {
    const md = renderMarkdown(succeeded);
    expect(md).toMatch(/^# handoff report: orders-to-gke \(succeeded\)/);
    for (const heading of [
      'What moved',
      'Timeline',
      'Traffic',
      'Replication lag',
      'Cutover',
      'Verification',
      'Gate decisions',
      'Approvals',
      'Rollbacks',
      'Residual risks',
      'Clean-up',
      'Audit trail',
    ]) {
      expect(md).toContain(`\n## ${heading}\n`);
    }
    expect(md).toContain('| write pause | 182 ms |');
    expect(md).toContain('| data | identical (24,310 rows compared) |');
    expect(md).toContain('| cutover | dana | db-owner |');
    expect(md).toContain('| errors: Pass | 0 | max 0.01, ratio fail 2, min samples 200 | 1,200 |');
    expect(md).toContain(`\`${succeeded.audit.head.hash}\``);
    const rolled = renderMarkdown(rolledBack);
    expect(rolled).toContain('| shift | check errors failed: target error rate 20 % &gt; max 1 % |');
    expect(rolled).toContain('**left behind** replication slot handoff_slot on source (still active)');
    expect(rolled).toContain('| target reads | 372 | 60 | 16.1 % | 20.0 % |');
  });
});
