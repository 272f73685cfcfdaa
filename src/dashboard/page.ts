/**
 * The dashboard's HTML, rendered on the server: the list of runs, and one run's page with its
 * header, stage pipeline and the places the client module (client/dashboard.js) fills and keeps
 * live. The run's view goes along as JSON in a non-executed script element (every `<` escaped), so
 * the page draws at once and then follows the event stream. Every value is escaped.
 */
import { escapeHtml as esc } from '../report/escape.js';
import type { RunSummary } from '../engine/status.js';
import type { RunView } from './view.js';

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#212529;background:#f8f9fa}
header,main{padding:12px 20px}header{background:#212529;color:#f8f9fa}
header a{color:#a5d8ff}h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;font-size:13px}td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
.pipeline{display:flex;flex-wrap:wrap;gap:4px;list-style:none;padding:0;margin:8px 0}
.pipeline li{padding:4px 10px;border-radius:12px;background:#e9ecef}
.pipeline li.done{background:#d3f9d8}.pipeline li.running{background:#ffe066;font-weight:600}
.pipeline li.failed,.pipeline li.undone{background:#ffc9c9}.pipeline li.skipped,.pipeline li.will-be-skipped{opacity:.5}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:10px}
.chart{background:#fff;border:1px solid #dee2e6;padding:6px}.chart h3{font-size:13px;margin:0 0 4px}
.bar{display:inline-block;width:120px;height:10px;background:#e9ecef;vertical-align:middle}
.bar span{display:block;height:100%;background:#228be6}
#error{display:none;background:#ffc9c9;padding:8px 20px}#error.shown{display:block}
.muted{color:#868e96}code{background:#f1f3f5;padding:1px 4px}.mark-caption{min-height:1.3em;font-size:12px}
.outcome-rollback,.outcome-Fail,.outcome-fail{color:#c92a2a;font-weight:600}
.outcome-advance,.outcome-Pass,.outcome-pass{color:#2b8a3e}
`;

function layout(title: string, body: string, script: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/uPlot.min.css"><style>${STYLE}</style>
${script ? '<script type="module" src="/assets/dashboard.js"></script>' : ''}
</head><body>${body}</body></html>`;
}

/** `rehearsal`: the rehearsal panel's HTML (rehearsal-panel.ts), already escaped. */
export function renderRunsPage(runs: RunSummary[], stateDir: string, rehearsal = ''): string {
  const rows = runs
    .map(
      (r) =>
        `<tr><td><a href="/runs/${encodeURIComponent(r.id)}">${esc(r.id)}</a></td><td>${esc(r.plan)}</td><td>${esc(r.state)}</td><td>${esc(r.stage ?? '')}</td><td>${esc(r.started)}</td><td>${esc(r.updated)}</td></tr>`,
    )
    .join('');
  const table =
    runs.length === 0
      ? `<p>No runs in ${esc(stateDir)} yet.</p>`
      : `<table id="runs"><thead><tr><th>run</th><th>migration</th><th>state</th><th>stage</th><th>started</th><th>updated</th></tr></thead><tbody>${rows}</tbody></table>`;
  return layout(
    'handoff runs',
    `<header><h1>handoff runs</h1><div class="muted">${esc(stateDir)}</div></header><main>${table}${rehearsal}</main>`,
    false,
  );
}

/** The view as JSON inside a script element: `<` escaped so no value can end the element. */
function embed(view: RunView): string {
  return JSON.stringify(view).replace(/</g, '\\u003c');
}

export function renderRunPage(view: RunView, rehearsal = ''): string {
  const run = view.status;
  const stages = run.stages
    .map(
      (s) =>
        `<li class="${esc(s.state.replace(/\s+/g, '-'))}" data-stage="${esc(s.name)}">${esc(s.name)}<span class="muted"> ${esc(s.state)}</span></li>`,
    )
    .join('');
  const body = `<header><div><a href="/">all runs</a></div>
<h1>run <span id="run-id">${esc(run.id)}</span>: <span id="run-state">${esc(run.state)}</span> at stage <span id="stage">${esc(run.stage ?? '-')}</span></h1>
<div class="muted">migration ${esc(run.plan)}, started ${esc(run.started)}; <span id="live">loading</span>; <span id="step"></span></div></header>
<div id="error" role="alert"></div>
<main data-run="${esc(run.id)}">
<ol class="pipeline" id="pipeline">${stages}</ol>
<section id="approvals"></section>${rehearsal}
<h2>On one time axis</h2><div class="charts" id="charts"></div>
<h2>Gate decisions</h2><div id="gates"></div>
<h2>Copy and verification</h2><div id="progress"></div>
<h2>Rollbacks</h2><div id="rollbacks"></div>
<h2>Audit trail (latest)</h2><div id="audit"></div>
</main>
<script type="application/json" id="view">${embed(view)}</script>`;
  return layout(`handoff ${run.id}`, body, true);
}
