import { describe, expect, it } from 'vitest';
import { createShadowLedger } from '../shadow/ledger.js';
import { shadowVerdict } from '../shadow/verdict.js';
import { cell, inline } from './markdown.js';
import { shadowHtml, shadowMarkdown, shadowVerdictSchema, type ReportShadow } from './shadow-section.js';

function failed(): ReportShadow {
  const ledger = createShadowLedger();
  const evidence = () => ({
    at: 't',
    method: 'GET',
    path: '/accounts/1',
    endpoint: 'GET /accounts/:id',
    sourceStatus: 200,
    targetStatus: 200,
    source: '{}',
    target: '{}',
    reread: false,
  });
  for (let i = 0; i < 90; i++) ledger.record('GET /accounts/:id', [], evidence);
  for (let i = 0; i < 10; i++) ledger.record('GET /accounts/:id', ['$.owner'], evidence);
  const status = { active: false, since: null, watermark: null, pendingStale: 0, inFlight: 0, ...ledger.report(0) };
  const verdict = shadowVerdict(status, {
    threshold: 0.001,
    minSamples: 50,
    share: 0.2,
    durationMs: 20_000,
    evidenceFile: '/s/shadow/r.jsonl',
  });
  // What the trail holds is what the event carried: the report's schema reads it back.
  return { ...shadowVerdictSchema.parse(JSON.parse(JSON.stringify(verdict))), at: '2026-01-01T00:00:00Z' };
}

describe('the report on shadow reads', () => {
  it('summarises the verdict by endpoint and by field, in Markdown and HTML', () => {
    const md = shadowMarkdown([failed()], { cell, inline }).join('\n');
    expect(md).toContain('## Shadow reads');
    expect(md).toMatch(/Fail: diff rate 10(\.0+)? %/);
    expect(md).toContain('| GET /accounts/:id | 100 | 10 | 0 | 0 | $.owner (10) |');
    const html = shadowHtml([failed()]);
    expect(html).toContain('<td>$.owner (10)</td>');
    expect(html).toContain('/s/shadow/r.jsonl');
  });

  it('has no section for a run without a shadow stage', () => {
    expect(shadowMarkdown([], { cell, inline })).toEqual([]);
    expect(shadowMarkdown(undefined, { cell, inline })).toEqual([]);
  });
});
