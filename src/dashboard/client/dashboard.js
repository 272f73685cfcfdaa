// The dashboard's run page: draws the run's view (embedded by the server), then follows the run's
// audit records by server-sent events and refetches the view when they come (at most a few times a
// second). Every value is set as text (textContent), never as HTML.
/* global document, EventSource, fetch, setTimeout, setInterval */
import { drawCharts } from '/assets/charts.js';

const FINAL = new Set(['succeeded', 'rolled-back', 'aborted', 'failed']);
const TAIL = 40;

const main = document.querySelector('main[data-run]');
const runId = main.dataset.run;
let view = JSON.parse(document.getElementById('view').textContent);
const chartState = { charts: new Map(), range: [0, 1], marks: [] };
let audit = [...view.auditTail];
let events = 0;
let refreshes = 0;

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function table(headers, rows, id) {
  const t = el('table', undefined, id ? { id } : {});
  const head = el('tr');
  for (const h of headers) head.append(el('th', h));
  t.append(el('thead'));
  t.tHead.append(head);
  const body = el('tbody');
  for (const row of rows) {
    const tr = el('tr');
    for (const cell of row) {
      if (cell instanceof globalThis.Node) {
        const td = el('td');
        td.append(cell);
        tr.append(td);
      } else tr.append(el('td', cell ?? ''));
    }
    body.append(tr);
  }
  t.append(body);
  return t;
}

function replace(id, ...nodes) {
  document.getElementById(id).replaceChildren(...nodes);
}

const time = (iso) => (iso ? new Date(iso).toISOString().slice(11, 19) : '');
const num = (v, digits = 0) => (v === null || v === undefined ? '' : Number(v).toFixed(digits));

function bar(percent) {
  const outer = el('span', undefined, { class: 'bar', title: percent === null ? 'total unknown' : `${percent} %` });
  const inner = el('span');
  inner.style.width = `${percent ?? 0}%`;
  outer.append(inner);
  return outer;
}

function renderHeader() {
  const s = view.status;
  document.getElementById('run-state').textContent = s.state;
  document.getElementById('stage').textContent = s.stage ?? '-';
  const items = s.stages.map((stage) =>
    el('li', undefined, { class: stage.state.replace(/\s+/g, '-'), 'data-stage': stage.name }),
  );
  s.stages.forEach((stage, i) => {
    items[i].append(stage.name, el('span', ` ${stage.state}`, { class: 'muted' }));
  });
  replace('pipeline', ...items);
  const current = s.stages.find((stage) => stage.name === s.stage);
  const step = current?.steps.find((x) => x.state !== 'done' && x.state !== 'pending') ?? null;
  const next = s.stages.find((stage) => stage.state === 'pending');
  document.getElementById('step').textContent =
    `${step ? `step ${step.name} (${step.state})` : current ? `stage ${current.name} ${current.state}` : ''}` +
    `${next && !FINAL.has(s.state) ? `; next: ${next.name}` : ''}`;
}

function renderApprovals() {
  const rows = view.approvalsWaiting.map((a) => [a.stage, a.role, time(a.since), el('code', a.command)]);
  replace(
    'approvals',
    ...(rows.length ? [el('h2', 'Approvals waiting'), table(['stage', 'role', 'since', 'command'], rows)] : []),
  );
}

function renderGates() {
  const latest = new Map();
  for (const g of view.report.gates) for (const c of g.checks) latest.set(c.check, { ...c, at: g.at, gate: g.stage });
  const checks = table(
    ['check', 'gate', 'value', 'source', 'threshold', 'samples', 'outcome', 'reason', 'at'],
    [...latest.values()].map((c) => [
      c.check,
      c.gate,
      num(c.value, 4),
      num(c.sourceValue, 4),
      c.threshold ?? '',
      num(c.samples),
      el('span', c.outcome, { class: `outcome-${c.outcome}` }),
      c.reason,
      time(c.at),
    ]),
    'checks',
  );
  const decisions = table(
    ['at', 'gate', 'decision', 'reasons'],
    view.report.gates.map((g) => [
      time(g.at),
      g.stage,
      el('span', g.outcome, { class: `outcome-${g.outcome}` }),
      g.reasons.join('; '),
    ]),
    'decisions',
  );
  replace('gates', el('h3', 'Latest checks'), checks, el('h3', 'Decisions (dashed lines on the charts)'), decisions);
}

function renderProgress() {
  const rows = view.progress.map((p) => [
    p.kind,
    p.database ?? '',
    p.table,
    bar(p.percent),
    p.percent === null ? '' : `${p.percent} %`,
    num(p.rows),
    num(p.rowsPerSecond),
    p.etaSeconds === null ? '' : `${p.etaSeconds} s`,
    p.state,
  ]);
  replace(
    'progress',
    rows.length
      ? table(['work', 'database', 'table', 'progress', '%', 'rows', 'rows/s', 'ETA', 'state'], rows, 'progress-table')
      : el('p', 'Nothing copied or verified yet.', { class: 'muted' }),
  );
}

function renderRollbacks() {
  const rows = view.report.rollbacks.map((r) => [
    time(r.startedAt),
    r.stage,
    r.reason,
    r.doneAt ? time(r.doneAt) : 'in progress',
    r.undone.join(' → '),
  ]);
  const throttle = view.throttle.map((t) => [
    time(t.at),
    t.work,
    t.reason,
    t.message,
    t.pausedMs === null ? 'paused' : `${num(t.pausedMs)} ms`,
  ]);
  replace(
    'rollbacks',
    rows.length
      ? table(['started', 'stage', 'reason', 'done', 'undone'], rows, 'rollback-table')
      : el('p', 'No rollback.', { class: 'muted' }),
    ...(throttle.length
      ? [el('h3', 'Throttle pauses'), table(['at', 'work', 'why', 'measured', 'lasted'], throttle)]
      : []),
  );
}

function renderAudit() {
  replace(
    'audit',
    table(
      ['seq', 'time', 'actor', 'action', 'subject'],
      audit
        .slice(-TAIL)
        .reverse()
        .map((a) => [a.seq, time(a.time), a.actor, a.action, a.subject]),
      'audit-table',
    ),
  );
}

function range() {
  const start = Date.parse(view.status.started) / 1000;
  const times = [view.status.updated, view.status.finished].filter(Boolean).map((t) => Date.parse(t) / 1000);
  const end = FINAL.has(view.status.state)
    ? Math.max(start + 1, ...times)
    : Math.max(start + 1, Date.now() / 1000, ...times);
  return [start, end];
}

function render() {
  renderHeader();
  renderApprovals();
  drawCharts(document.getElementById('charts'), view, range(), chartState);
  renderGates();
  renderProgress();
  renderRollbacks();
  renderAudit();
  main.dataset.refreshes = String(++refreshes);
}

function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message;
  box.className = 'shown';
}

let timer = null;
let inFlight = false;
async function refresh() {
  timer = null;
  if (inFlight) return schedule();
  inFlight = true;
  try {
    const answer = await fetch(`/api/runs/${encodeURIComponent(runId)}/view`, {
      headers: { accept: 'application/json' },
    });
    if (!answer.ok) throw new Error(`the dashboard answered ${answer.status}`);
    view = await answer.json();
    render();
    document.getElementById('error').className = '';
  } catch (error) {
    showError(`could not refresh the run: ${error.message}`);
  } finally {
    inFlight = false;
  }
}

function schedule(delay = 300) {
  if (timer === null) timer = setTimeout(refresh, delay);
}

function follow() {
  const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/events?after=${view.lastSeq}`);
  source.onopen = () => {
    document.getElementById('live').textContent = `live (${events} events)`;
  };
  source.onmessage = (message) => {
    const record = JSON.parse(message.data);
    events++;
    audit.push({
      seq: record.seq,
      time: record.time,
      actor: record.actor,
      action: record.action,
      subject: record.subject,
    });
    if (audit.length > TAIL * 2) audit = audit.slice(-TAIL);
    main.dataset.events = String(events);
    document.getElementById('live').textContent = `live (${events} events, last ${time(record.time)})`;
    schedule();
  };
  source.onerror = () => {
    document.getElementById('live').textContent = 'reconnecting';
  };
}

try {
  render();
  follow();
  // The clock moves the axis while the run is live, even between events.
  setInterval(() => {
    if (!FINAL.has(view.status.state)) schedule(0);
  }, 5000);
} catch (error) {
  showError(`the dashboard could not draw this run: ${error.message}`);
  throw error;
}
