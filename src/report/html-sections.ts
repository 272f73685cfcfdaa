/** The tabular sections of the HTML report (the charts are in html-charts.ts). All text is escaped. */
import { escapeHtml as e } from './escape.js';
import { formatCount, formatMs, formatNumber, formatTime, outcomeTone } from './format.js';
import type { ReportModel } from './model-types.js';
import type { TimeFrame } from './html-charts.js';
import { formatOffset } from './svg-chart.js';

export function badge(text: string, tone = outcomeTone(text)): string {
  return `<span class="badge tone-${tone}">${e(text)}</span>`;
}

export function table(
  headers: Array<string | { text: string; num: true }>,
  rows: string[][],
  caption?: string,
): string {
  const head = headers
    .map((h) =>
      typeof h === 'string' ? `<th scope="col">${e(h)}</th>` : `<th scope="col" class="num">${e(h.text)}</th>`,
    )
    .join('');
  const numeric = headers.map((h) => typeof h !== 'string');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('');
  return `<table>${caption ? `<caption class="meta">${e(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A two-column table of named values (the names are row headers). */
export function kvTable(rows: string[][]): string {
  return `<table class="kv"><tbody>${rows.map(([name, value]) => `<tr><th scope="row">${name ?? ''}</th><td>${value ?? ''}</td></tr>`).join('')}</tbody></table>`;
}

export function none(text: string): string {
  return `<p class="empty-note">${e(text)}</p>`;
}

export function movedSection(model: ReportModel): string {
  const { moved } = model;
  const site = (name: 'source' | 'target') => moved[name];
  const rows = [
    ['platform', e(site('source').platform), e(site('target').platform)],
    ['endpoint', e(site('source').endpoint ?? '–'), e(site('target').endpoint ?? '–')],
    ['databases', e(site('source').databases.join(', ') || '–'), e(site('target').databases.join(', ') || '–')],
  ];
  const parts = [table(['', 'source', 'target'], rows)];
  if (moved.planProblem) parts.push(`<p>${badge('warning', 'warn')} ${e(moved.planProblem)}</p>`);
  parts.push('<h3>Data</h3>');
  parts.push(
    moved.databases.length === 0
      ? none('No databases in the plan.')
      : table(
          ['database', 'tables'],
          moved.databases.map((d) => [e(d.database), `<code>${e(d.tables.join(', '))}</code>`]),
        ),
  );
  parts.push('<h3>Workloads and traffic</h3>');
  const items = [...moved.workloads, ...(moved.router ? [`traffic through the ${moved.router}`] : [])];
  parts.push(
    items.length === 0
      ? none('No workloads or router in the plan.')
      : `<ul class="plain">${items.map((w) => `<li>${e(w)}</li>`).join('')}</ul>`,
  );
  return parts.join('');
}

export function timelineSection(model: ReportModel, frame: TimeFrame): string {
  if (model.stages.length === 0) return none('No stage was started.');
  const span = frame.to - frame.from;
  const rows = model.stages.map((s) => {
    const start = s.startedAt ? Date.parse(s.startedAt) : NaN;
    const end = s.finishedAt ? Date.parse(s.finishedAt) : s.undoneAt ? Date.parse(s.undoneAt) : frame.to;
    const left = Number.isFinite(start) ? ((start - frame.from) / span) * 100 : 0;
    const width = Number.isFinite(start) ? Math.max(((end - start) / span) * 100, 0.4) : 0;
    const bar = `<div class="gantt" role="img" aria-label="${e(`${s.name}: ${formatMs(s.durationMs)}`)}"><span class="tone-${outcomeTone(s.state)}" style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></span></div>`;
    const offset = (iso: string | null): string =>
      iso && Number.isFinite(Date.parse(iso)) ? formatOffset(Date.parse(iso) - frame.from) : '–';
    // The run's own reason is said once, at the top; a stage repeats only its own.
    const reason = s.reason && s.reason !== model.run.reason ? s.reason : '';
    const note = [reason, s.undoneAt ? `undone at ${offset(s.undoneAt)}` : ''].filter(Boolean).join('; ');
    const started = `<time datetime="${e(s.startedAt ?? '')}" title="${e(formatTime(s.startedAt))}">${e(offset(s.startedAt))}</time>`;
    return [e(s.name), badge(s.state), started, e(formatMs(s.durationMs)), bar, e(note)];
  });
  return table(
    ['stage', 'outcome', { text: 'started', num: true }, { text: 'duration', num: true }, 'when', 'note'],
    rows,
    `times from the start of the run, ${formatTime(model.run.startedAt)}`,
  );
}

export function cutoverSection(model: ReportModel): string {
  const c = model.cutover;
  if (!c)
    return none(
      'No cutover was measured in this run (it did not reach the cutover, or the cutover recorded no measurement).',
    );
  const atClients = model.totals.clients?.writePauseMs ?? null;
  return kvTable([
    ...(atClients === null
      ? []
      : [
          [
            'write pause at the clients (the longest write in flight during the hold)',
            `<strong>${e(formatMs(atClients))}</strong>`,
          ],
        ]),
    [
      'write pause at the router (first held request to release; – when nothing was held)',
      `<strong>${e(formatMs(c.writePauseMs))}</strong>`,
    ],
    ['requests held during the switch', e(formatCount(c.heldRequests))],
    ['requests that failed during the switch', e(formatCount(c.failedRequests))],
    ['source refused writes for (fence to target open)', e(formatMs(c.fenceMs))],
    ['measured at', e(formatTime(c.at))],
  ]);
}

export function verificationSection(model: ReportModel): string {
  if (model.verification.length === 0) return none('No verification result was recorded.');
  return model.verification
    .map((v) => {
      const head = `<h3>${e(v.database)} ${badge(v.identical ? 'identical' : 'differs')} <span class="meta">${e(formatCount(v.rowsCompared))} rows compared in ${e(formatMs(v.elapsedMs))}, ${e(formatTime(v.at))}</span></h3>`;
      const rows = v.tables.map((t) => [
        `<code>${e(t.table)}</code>`,
        e(formatCount(t.sourceRows)),
        e(formatCount(t.targetRows)),
        e(formatCount(t.mismatchedChunks)),
        e(formatCount(t.missing)),
        e(formatCount(t.extra)),
        e(formatCount(t.changed)),
      ]);
      const num = (text: string) => ({ text, num: true }) as const;
      return (
        head +
        table(
          [
            'table',
            num('source rows'),
            num('target rows'),
            num('mismatched chunks'),
            num('missing'),
            num('extra'),
            num('changed'),
          ],
          rows,
        )
      );
    })
    .join('');
}

export function gatesSection(model: ReportModel): string {
  if (model.gates.length === 0) return none('No gate decision was recorded.');
  return model.gates
    .map((g) => {
      const reasons =
        g.reasons.length > 1
          ? `<ul class="plain">${g.reasons.map((r) => `<li>${e(r)}</li>`).join('')}</ul>`
          : `<p>${e(g.reason)}</p>`;
      const checks =
        g.checks.length === 0
          ? ''
          : `<table class="checks"><thead><tr><th>check</th><th>outcome</th><th class="num">target</th><th class="num">source</th><th class="num">ratio</th><th>threshold</th><th class="num">samples</th><th>reason</th></tr></thead><tbody>${g.checks
              .map(
                (c) =>
                  `<tr><td>${e(c.check)}${c.metric ? `<br><code>${e(c.metric)}</code>` : ''}</td><td>${badge(c.outcome)}</td><td class="num">${e(formatNumber(c.value))}</td><td class="num">${e(formatNumber(c.sourceValue))}</td><td class="num">${e(formatNumber(c.ratio))}</td><td>${e(c.threshold ?? '–')}</td><td class="num">${e(formatCount(c.samples))}</td><td>${e(c.reason)}</td></tr>`,
              )
              .join('')}</tbody></table>`;
      return `<h3>${e(g.stage)} ${badge(g.outcome)} <span class="meta">${e(formatTime(g.at))}</span></h3>${reasons}${checks}`;
    })
    .join('');
}

export function approvalsSection(model: ReportModel): string {
  if (model.approvals.length === 0) return none('No approval was given or needed.');
  return table(
    ['before stage', 'approved by', 'role', 'when'],
    model.approvals.map((a) => [e(a.stage), e(a.by), e(a.role), e(formatTime(a.at))]),
  );
}

export function rollbacksSection(model: ReportModel): string {
  if (model.rollbacks.length === 0) return none('No rollback: the run never went back.');
  return table(
    ['from stage', 'why', 'started', 'done', 'stages undone'],
    model.rollbacks.map((r) => [
      e(r.stage || '–'),
      e(r.reason),
      e(formatTime(r.startedAt)),
      e(r.doneAt ? formatTime(r.doneAt) : 'not finished'),
      e(r.undone.join(' → ') || '–'),
    ]),
  );
}

export function risksSection(model: ReportModel): string {
  if (model.risks.length === 0) return none('None: no preflight warning, no difference, nothing left behind.');
  return table(
    ['severity', 'subject', 'what', 'what to do', 'from'],
    model.risks.map((r) => [
      badge(r.severity, r.severity === 'blocker' ? 'bad' : r.severity === 'warning' ? 'warn' : 'neutral'),
      e(r.subject),
      e(r.message),
      e(r.remediation || '–'),
      e(r.origin),
    ]),
  );
}

export function cleanupSection(model: ReportModel): string {
  if (model.cleanup.length === 0) return none('No clean-up was recorded.');
  return model.cleanup
    .map(
      (c) =>
        `<h3>${e(c.stage || 'clean-up')} <span class="meta">${e(formatTime(c.at))}</span></h3><ul class="plain">${c.what.map((w) => `<li>removed ${e(w)}</li>`).join('')}${c.leftBehind.map((w) => `<li><strong>left behind</strong> ${e(w)}</li>`).join('')}</ul>`,
    )
    .join('');
}

export function auditSection(model: ReportModel, stateDir: string | null): string {
  const a = model.audit;
  const rows = [
    [
      'verification',
      (a.valid ? badge('valid', 'good') : `${badge('invalid', 'bad')} ${e(a.reason ?? '')}`) +
        ` <span class="meta">${e(a.keyPinned ? 'against the key the plan pins' : a.valid ? (a.keyNote ?? '') : 'key not pinned')}</span>`,
    ],
    ['records in the trail', e(formatCount(a.records))],
    ['records of this run', e(formatCount(a.runRecords))],
    ['head of the trail', `record ${e(String(a.head.seq))}: <code class="hash">${e(a.head.hash)}</code>`],
    [
      'last record of this run',
      a.lastRunRecord
        ? `record ${e(String(a.lastRunRecord.seq))}: <code class="hash">${e(a.lastRunRecord.hash)}</code>`
        : '–',
    ],
    [
      'signed checkpoint',
      a.checkpoint
        ? `record ${e(String(a.checkpoint.seq))}: <code class="hash">${e(a.checkpoint.headHash)}</code><br><span class="meta">${e(formatTime(a.checkpoint.time))}, ${e(a.checkpoint.reason)}</span>`
        : 'none',
    ],
    [
      'signing key',
      `${a.publicKeyFingerprint ? `<code class="hash">${e(a.publicKeyFingerprint)}</code>` : '–'} <span class="meta">${a.keyPinned ? 'pinned by the plan (spec.audit.publicKey)' : 'not pinned'}</span>`,
    ],
  ];
  const how = `<p class="meta">To check this report against the trail: <code>handoff audit verify${stateDir ? ` --state-dir ${e(stateDir)}` : ''}</code> verifies the whole trail and prints its head, which is the head above until a later run adds records; the run's last record and the signed checkpoint named here stay in the trail for good.</p>`;
  return kvTable(rows) + how;
}
