/**
 * The HTML report: one self-contained file (inline CSS and inline SVG, no script, no external
 * asset), readable on screen, printable, and accessible (every chart has a title, a description
 * and its data as a table). The answer comes first: the verdict and the key numbers.
 */
import { escapeHtml as e } from './escape.js';
import { formatCount, formatMs, formatPercent, formatTime, verdict } from './format.js';
import { errorRateChart, latencyChart, lagChart, timeFrame, weightsChart } from './html-charts.js';
import {
  approvalsSection,
  auditSection,
  badge,
  cleanupSection,
  cutoverSection,
  gatesSection,
  movedSection,
  risksSection,
  rollbacksSection,
  timelineSection,
  verificationSection,
} from './html-sections.js';
import { REPORT_CSS } from './html-style.js';
import type { ReportModel } from './model-types.js';
import { reportRehearsalHtml } from './rehearsal-section.js';
import { shadowHtml } from './shadow-section.js';

export interface HtmlOptions {
  /** Shown in the audit section's `handoff audit verify --state-dir` hint. */
  stateDir?: string;
}

type Tone = 'good' | 'bad' | 'warn' | 'neutral';

function card(label: string, value: string, sub: string, tone: Tone = 'neutral'): string {
  return `<div class="card tone-${tone}"><div class="label">${e(label)}</div><div class="value">${e(value)}</div><div class="sub">${e(sub)}</div></div>`;
}

function summaryCards(model: ReportModel): string {
  const cards: string[] = [];
  const v = verdict(model.run.state);
  cards.push(card('Outcome', v.text, model.run.stage ? `at stage ${model.run.stage}` : '', v.tone));
  cards.push(
    card(
      'Duration',
      formatMs(model.run.durationMs),
      model.run.finishedAt ? 'start to finish' : 'not finished',
      'neutral',
    ),
  );
  const { totals } = model;
  if (totals.clients) {
    // What the clients counted: requests not sent and client time-outs never show at the router.
    const c = totals.clients;
    const sub = `of ${formatCount(c.sent)} sent by the clients (${formatPercent(c.sent === 0 ? 0 : c.failed / c.sent)}), ${formatCount(c.notSent)} not sent; router: ${c.routerErrors === null ? '–' : formatCount(c.routerErrors)} errors`;
    cards.push(card('Failed requests', formatCount(c.failed), sub, c.failed === 0 ? 'good' : 'bad'));
  } else if (totals.requests > 0) {
    const rate = totals.failedRequests / totals.requests;
    cards.push(
      card(
        'Failed requests',
        formatCount(totals.failedRequests),
        `of ${formatCount(totals.requests)} (${formatPercent(rate)})`,
        totals.failedRequests === 0 ? 'good' : 'bad',
      ),
    );
  }
  if (model.cutover) {
    // The clients' pause when the run has it (a held write waits for the release and then for its
    // answer); the router's, from the first held request to the release, beside it.
    const held = `${formatCount(model.cutover.heldRequests)} requests held`;
    const atClients = totals.clients?.writePauseMs ?? null;
    cards.push(
      card(
        'Write pause',
        formatMs(atClients ?? model.cutover.writePauseMs),
        atClients === null ? held : `at the clients; router ${formatMs(model.cutover.writePauseMs)}, ${held}`,
        model.cutover.failedRequests === 0 ? 'good' : 'bad',
      ),
    );
  }
  const latest = new Map(model.verification.map((x) => [x.database, x]));
  if (latest.size > 0) {
    const all = [...latest.values()];
    const identical = all.every((x) => x.identical);
    const rows = all.reduce((sum, x) => sum + x.rowsCompared, 0);
    cards.push(
      card(
        'Data',
        identical ? 'Identical' : 'Differs',
        `${formatCount(rows)} rows compared`,
        identical ? 'good' : 'bad',
      ),
    );
  }
  if (model.rollbacks.length > 0) {
    const last = model.rollbacks[model.rollbacks.length - 1];
    cards.push(card('Rollback', last?.stage ? `from ${last.stage}` : 'yes', last?.reason ?? '', 'warn'));
  }
  const blockers = model.risks.filter((r) => r.severity === 'blocker').length;
  const warnings = model.risks.filter((r) => r.severity === 'warning').length;
  cards.push(
    card(
      'Residual risks',
      String(blockers + warnings),
      `${blockers} blocking, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`,
      blockers > 0 ? 'bad' : warnings > 0 ? 'warn' : 'good',
    ),
  );
  cards.push(
    card(
      'Audit trail',
      model.audit.valid ? 'Valid' : 'Invalid',
      `${formatCount(model.audit.runRecords)} records of this run${model.audit.keyNote ? `; ${model.audit.keyNote}` : ', pinned key'}`,
      model.audit.valid ? 'good' : 'bad',
    ),
  );
  return `<section class="cards" aria-label="Summary">${cards.join('')}</section>`;
}

const SECTIONS: Array<[id: string, title: string]> = [
  ['moved', 'What moved'],
  ['timeline', 'Timeline'],
  ['traffic', 'Traffic'],
  ['replication', 'Replication lag'],
  ['cutover', 'Cutover'],
  ['verification', 'Verification'],
  ['shadow', 'Shadow reads'],
  ['rehearsal', 'Rehearsal'],
  ['gates', 'Gate decisions'],
  ['approvals', 'Approvals'],
  ['rollbacks', 'Rollbacks'],
  ['risks', 'Residual risks'],
  ['cleanup', 'Clean-up'],
  ['audit', 'Audit trail'],
];

function section(id: string, body: string): string {
  const title = SECTIONS.find(([key]) => key === id)?.[1] ?? id;
  return `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${e(title)}</h2>${body}</section>`;
}

export function renderHtml(model: ReportModel, options: HtmlOptions = {}): string {
  const frame = timeFrame(model);
  const v = verdict(model.run.state);
  const hasShadow = (model.shadow?.length ?? 0) > 0; // the section exists only for a run with a shadow stage
  const run = model.run;
  const totals = Object.entries(model.totals.bySite)
    .map(([site, t]) => `${site}: ${formatCount(t.requests)} requests, ${formatCount(t.errors)} errors`)
    .join('; ');
  const traffic =
    model.weights.length === 0 && model.traffic.length === 0
      ? `<p class="empty-note">No traffic was moved or measured in this run.</p>`
      : `<h3>Where requests went</h3>${weightsChart(model, frame)}<h3>Error rate</h3>${errorRateChart(model, frame)}<h3>Latency</h3>${latencyChart(model, frame)}${totals ? `<p class="meta">Totals over the samples: ${e(totals)}.</p>` : ''}`;
  const lag =
    model.lag.length === 0 ? `<p class="empty-note">No replication lag was recorded.</p>` : lagChart(model, frame);
  const body = [
    `<header class="top"><h1>${e(run.plan)} ${badge(v.text, v.tone)}</h1>`,
    `<p class="meta">handoff run <code>${e(run.id)}</code> · started ${e(formatTime(run.startedAt))}${run.finishedAt ? ` · finished ${e(formatTime(run.finishedAt))}` : ''} · plan <code class="hash">sha256:${e(run.planHash)}</code></p>`,
    run.reason ? `<p><strong>Why:</strong> ${e(run.reason)}</p>` : '',
    run.error && run.error !== run.reason ? `<p><strong>Last error:</strong> ${e(run.error)}</p>` : '',
    `<nav class="toc" aria-label="Sections">${SECTIONS.filter(
      ([id]) => (id !== 'shadow' || hasShadow) && (id !== 'rehearsal' || model.rehearsal),
    )
      .map(([id, title]) => `<a href="#${id}">${e(title)}</a>`)
      .join('')}</nav></header>`,
    summaryCards(model),
    section('moved', movedSection(model)),
    section('timeline', timelineSection(model, frame)),
    section('traffic', traffic),
    section('replication', lag),
    section('cutover', cutoverSection(model)),
    section('verification', verificationSection(model)),
    hasShadow ? section('shadow', shadowHtml(model.shadow)) : '',
    model.rehearsal ? section('rehearsal', reportRehearsalHtml(model.rehearsal)) : '',
    section('gates', gatesSection(model)),
    section('approvals', approvalsSection(model)),
    section('rollbacks', rollbacksSection(model)),
    section('risks', risksSection(model)),
    section('cleanup', cleanupSection(model)),
    section('audit', auditSection(model, options.stateDir ?? null)),
    `<footer>Written by handoff at ${e(formatTime(model.generatedAt))} from the state store and the audit trail of run ${e(run.id)}. Secrets are redacted.</footer>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(`handoff report: ${run.plan} (${run.id}), ${v.text.toLowerCase()}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
