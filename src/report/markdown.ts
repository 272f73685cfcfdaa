/**
 * The report as Markdown (GitHub-flavoured tables), for a pull request or a ticket: the same facts
 * as the HTML report, the charts' data as tables of the points that matter (route changes, the
 * worst samples per site, the highest lag).
 */
import { formatCount, formatMs, formatNumber, formatPercent, formatTime, formatWeights, verdict } from './format.js';
import type { ReportModel, TrafficPoint } from './model-types.js';
import { reportRehearsalMarkdown } from './rehearsal-section.js';
import { shadowMarkdown } from './shadow-section.js';

/** Text safe inside a Markdown table cell: pipes escaped, newlines and HTML-ish brackets neutralised. */
export function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Free text outside tables: no HTML gets through (GitHub would render some of it). */
export function inline(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

/** A code span that no backtick inside can end early. */
function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function table(headers: string[], rows: string[][]): string {
  const head = `| ${headers.map(cell).join(' | ')} |`;
  const rule = `| ${headers.map(() => '---').join(' | ')} |`;
  return [head, rule, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function offset(model: ReportModel, iso: string): string {
  const ms = Date.parse(iso) - Date.parse(model.run.startedAt);
  return Number.isFinite(ms) ? `+${formatMs(Math.max(0, ms))}` : formatTime(iso);
}

function trafficRows(model: ReportModel): string[][] {
  // Per site and class: totals, the worst error rate and the worst p99 of any window.
  const groups = new Map<string, TrafficPoint[]>();
  for (const p of model.traffic) groups.set(`${p.site} ${p.cls}`, [...(groups.get(`${p.site} ${p.cls}`) ?? []), p]);
  return [...groups.entries()].map(([name, points]) => {
    const requests = points.reduce((s, p) => s + p.requests, 0);
    const errors = points.reduce((s, p) => s + p.errors, 0);
    const worstRate = Math.max(...points.map((p) => p.errorRate ?? 0));
    const p99s = points.map((p) => p.p99Ms).filter((v): v is number => v !== null);
    return [
      name,
      formatCount(requests),
      formatCount(errors),
      formatPercent(requests > 0 ? errors / requests : null),
      formatPercent(worstRate),
      formatMs(p99s.length > 0 ? Math.max(...p99s) : null),
    ];
  });
}

/** The title, the run line and the summary table. */
function summarySection(model: ReportModel): string[] {
  const run = model.run;
  const v = verdict(run.state);
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push(`# handoff report: ${inline(run.plan)} (${v.text.toLowerCase()})`, '');
  push(
    `Run ${code(run.id)}, started ${formatTime(run.startedAt)}${run.finishedAt ? `, finished ${formatTime(run.finishedAt)}` : ''} (${formatMs(run.durationMs)}). Plan ${code(`sha256:${run.planHash}`)}.`,
    '',
  );
  if (run.reason) push(`**Why:** ${inline(run.reason)}`, '');
  const latest = [...new Map(model.verification.map((x) => [x.database, x])).values()];
  const summary: string[][] = [['outcome', `${v.text}${run.stage ? ` (at ${run.stage})` : ''}`]];
  const clients = model.totals.clients;
  if (clients) {
    summary.push([
      'failed requests (clients)',
      `${formatCount(clients.failed)} of ${formatCount(clients.sent)} sent, ${formatCount(clients.notSent)} not sent`,
    ]);
    summary.push(['clients and router', clients.notes.join('; ')]);
  } else if (model.totals.requests > 0) {
    summary.push([
      'failed requests',
      `${formatCount(model.totals.failedRequests)} of ${formatCount(model.totals.requests)}`,
    ]);
  }
  if (model.cutover) {
    const atClients = clients?.writePauseMs ?? null;
    summary.push([
      'write pause',
      atClients === null
        ? formatMs(model.cutover.writePauseMs)
        : `${formatMs(atClients)} at the clients (router ${formatMs(model.cutover.writePauseMs)})`,
    ]);
  }
  if (latest.length > 0) {
    summary.push([
      'data',
      `${latest.every((x) => x.identical) ? 'identical' : 'DIFFERS'} (${formatCount(latest.reduce((s, x) => s + x.rowsCompared, 0))} rows compared)`,
    ]);
  }
  summary.push(['rollbacks', String(model.rollbacks.length)]);
  summary.push(['residual risks', `${model.risks.filter((r) => r.severity !== 'info').length}`]);
  summary.push([
    'audit trail',
    `${model.audit.valid ? (model.audit.keyPinned ? 'valid (pinned key)' : 'valid (key not pinned)') : 'INVALID'}, head ${model.audit.head.seq} \`${model.audit.head.hash}\``,
  ]);
  push(table(['', ''], summary), '');
  return out;
}

/** What moved: platforms, endpoints, databases, workloads, router. */
function movedSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## What moved', '');
  const { moved } = model;
  push(
    table(
      ['', 'source', 'target'],
      [
        ['platform', moved.source.platform, moved.target.platform],
        ['endpoint', moved.source.endpoint ?? '–', moved.target.endpoint ?? '–'],
        ['databases', moved.source.databases.join(', ') || '–', moved.target.databases.join(', ') || '–'],
      ],
    ),
    '',
  );
  if (moved.planProblem) push(`> ${inline(moved.planProblem)}`, '');
  for (const d of moved.databases) push(`- database **${inline(d.database)}**: tables ${code(d.tables.join(', '))}`);
  for (const w of moved.workloads) push(`- ${inline(w)}`);
  if (moved.router) push(`- traffic through the ${inline(moved.router)}`);
  push('');
  return out;
}

/** Stages with outcome, start, duration and notes. */
function timelineSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Timeline', '');
  push(
    model.stages.length === 0
      ? '_No stage was started._'
      : table(
          ['stage', 'outcome', 'started', 'duration', 'note'],
          model.stages.map((s) => [
            s.name,
            s.state,
            formatTime(s.startedAt),
            formatMs(s.durationMs),
            [s.reason ?? '', s.undoneAt ? `undone ${formatTime(s.undoneAt)}` : ''].filter(Boolean).join('; '),
          ]),
        ),
    '',
  );
  return out;
}

/** Weight changes and traffic per site and class. */
function trafficSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Traffic', '');
  if (model.weights.length > 0) {
    push(
      table(
        ['when', 'reads', 'writes', 'why'],
        model.weights.map((w) => [offset(model, w.at), formatWeights(w.reads), formatWeights(w.writes), w.reason]),
      ),
      '',
    );
  }
  if (model.traffic.length > 0) {
    push(
      table(['site and class', 'requests', 'errors', 'error rate', 'worst window', 'worst p99'], trafficRows(model)),
      '',
    );
  }
  if (model.weights.length === 0 && model.traffic.length === 0) push('_No traffic was moved or measured._', '');
  return out;
}

/** Replication lag per database. */
function lagSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Replication lag', '');
  if (model.lag.length === 0) push('_No replication lag was recorded._', '');
  else {
    const byDb = new Map<string, number[]>();
    for (const p of model.lag) byDb.set(p.database, [...(byDb.get(p.database) ?? []), p.lagMs]);
    push(
      table(
        ['database', 'samples', 'highest', 'last'],
        [...byDb.entries()].map(([db, values]) => [
          db,
          String(values.length),
          formatMs(Math.max(...values)),
          formatMs(values[values.length - 1]),
        ]),
      ),
      '',
    );
  }
  return out;
}

/** The cutover as measured. */
function cutoverSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Cutover', '');
  const c = model.cutover;
  const atClients = model.totals.clients?.writePauseMs ?? null;
  push(
    c
      ? table(
          ['measured', 'value'],
          [
            ...(atClients === null ? [] : [['write pause at the clients', formatMs(atClients)]]),
            ['write pause at the router', formatMs(c.writePauseMs)],
            ['requests held', formatCount(c.heldRequests)],
            ['requests failed', formatCount(c.failedRequests)],
            ['source refused writes for', formatMs(c.fenceMs)],
          ],
        )
      : '_No cutover was measured._',
    '',
  );
  return out;
}

/** Every verification result, table by table. */
function verificationSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Verification', '');
  if (model.verification.length === 0) push('_No verification result was recorded._', '');
  for (const x of model.verification) {
    push(
      `**${inline(x.database)}**: ${x.identical ? 'identical' : 'DIFFERS'}, ${formatCount(x.rowsCompared)} rows compared in ${formatMs(x.elapsedMs)} (${formatTime(x.at)})`,
      '',
    );
    push(
      table(
        ['table', 'source rows', 'target rows', 'mismatched chunks', 'missing', 'extra', 'changed'],
        x.tables.map((t) => [
          t.table,
          formatCount(t.sourceRows),
          formatCount(t.targetRows),
          formatCount(t.mismatchedChunks),
          formatCount(t.missing),
          formatCount(t.extra),
          formatCount(t.changed),
        ]),
      ),
      '',
    );
  }
  return out;
}

/** Every gate decision with its checks. */
function gatesSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Gate decisions', '');
  if (model.gates.length === 0) push('_No gate decision was recorded._', '');
  else {
    const rows: string[][] = [];
    for (const g of model.gates) {
      if (g.checks.length === 0) rows.push([formatTime(g.at), g.stage, g.outcome, '–', '–', '–', '–', g.reason]);
      for (const ch of g.checks) {
        rows.push([
          formatTime(g.at),
          g.stage,
          g.outcome,
          `${ch.check}: ${ch.outcome}`,
          formatNumber(ch.value),
          ch.threshold ?? '–',
          formatCount(ch.samples),
          ch.reason || g.reason,
        ]);
      }
    }
    push(table(['when', 'gate', 'decision', 'check', 'value', 'threshold', 'samples', 'reason'], rows), '');
  }
  return out;
}

/** Approvals given. */
function approvalsSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Approvals', '');
  push(
    model.approvals.length === 0
      ? '_None._'
      : table(
          ['before stage', 'by', 'role', 'when'],
          model.approvals.map((a) => [a.stage, a.by, a.role, formatTime(a.at)]),
        ),
    '',
  );
  return out;
}

/** Rollbacks with their reasons. */
function rollbacksSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Rollbacks', '');
  push(
    model.rollbacks.length === 0
      ? '_None._'
      : table(
          ['from stage', 'why', 'started', 'done', 'undone'],
          model.rollbacks.map((r) => [
            r.stage || '–',
            r.reason,
            formatTime(r.startedAt),
            r.doneAt ? formatTime(r.doneAt) : 'not finished',
            r.undone.join(' → ') || '–',
          ]),
        ),
    '',
  );
  return out;
}

/** What is left to watch. */
function risksSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Residual risks', '');
  push(
    model.risks.length === 0
      ? '_None._'
      : table(
          ['severity', 'subject', 'what', 'what to do', 'from'],
          model.risks.map((r) => [r.severity, r.subject, r.message, r.remediation || '–', r.origin]),
        ),
    '',
  );
  return out;
}

/** What clean-up removed or left behind. */
function cleanupSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Clean-up', '');
  if (model.cleanup.length === 0) push('_No clean-up was recorded._');
  for (const cl of model.cleanup) {
    for (const w of cl.what) push(`- ${inline(cl.stage || 'clean-up')} removed ${inline(w)}`);
    for (const w of cl.leftBehind) push(`- ${inline(cl.stage || 'clean-up')} **left behind** ${inline(w)}`);
  }
  push('');
  return out;
}

/** The audit trail, its verification and its key; the closing line. */
function auditSection(model: ReportModel): string[] {
  const out: string[] = [];
  const push = (...lines: string[]): void => void out.push(...lines);
  push('## Audit trail', '');
  const a = model.audit;
  push(
    table(
      ['', ''],
      [
        [
          'verification',
          `${a.valid ? 'valid' : `INVALID: ${a.reason ?? ''}`}${a.keyPinned ? ' (against the key the plan pins)' : a.valid ? ` (${a.keyNote ?? ''})` : ' (key not pinned)'}`,
        ],
        ['records', `${formatCount(a.records)} in the trail, ${formatCount(a.runRecords)} of this run`],
        ['head', `${a.head.seq} \`${a.head.hash}\``],
        ['last record of this run', a.lastRunRecord ? `${a.lastRunRecord.seq} \`${a.lastRunRecord.hash}\`` : '–'],
        [
          'signed checkpoint',
          a.checkpoint
            ? `${a.checkpoint.seq} \`${a.checkpoint.headHash}\` (${formatTime(a.checkpoint.time)}, ${a.checkpoint.reason})`
            : 'none',
        ],
        [
          'signing key',
          `${a.publicKeyFingerprint ? `\`${a.publicKeyFingerprint}\`` : '–'} ${a.keyPinned ? 'pinned by the plan' : 'not pinned'}`,
        ],
      ],
    ),
    '',
  );
  push(`_Written by handoff at ${formatTime(model.generatedAt)}. Secrets are redacted._`, '');
  return out;
}

const SECTIONS: ReadonlyArray<(model: ReportModel) => string[]> = [
  summarySection,
  movedSection,
  timelineSection,
  trafficSection,
  lagSection,
  cutoverSection,
  verificationSection,
  (model) => shadowMarkdown(model.shadow, { cell, inline }),
  (model) => reportRehearsalMarkdown(model.rehearsal, { cell, inline }),
  gatesSection,
  approvalsSection,
  rollbacksSection,
  risksSection,
  cleanupSection,
  auditSection,
];

export function renderMarkdown(model: ReportModel): string {
  return SECTIONS.flatMap((section) => section(model)).join('\n');
}
