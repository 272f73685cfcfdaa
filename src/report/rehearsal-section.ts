/**
 * The rehearsal section (issue 13): the verdict, every invariant with its value (a violated one first
 * and marked), and per fault when it was injected and cleared, what it did, how handoff reacted, the
 * time to recover and the requests that failed meanwhile; in Markdown and in HTML (everything
 * escaped). Used alone (rehearsal-report.ts) and inside the run report (`handoff report`).
 */
import { HandoffError } from '../common/errors.js';
import type { RehearsalResult } from '../rehearsal/faults/types.js';
import { escapeHtml as e } from './escape.js';
import { formatMs } from './format.js';
import { badge, table } from './html-sections.js';
import { FAULT_HEADERS, faultCells, invariantRows, readRehearsalResult } from './rehearsal-result.js';

/** The Markdown escapers of markdown.ts (passed in: markdown.ts includes this section). */
export interface MarkdownEscape {
  cell: (text: string) => string;
  inline: (text: string) => string;
}

/** `2026-12-04 08:00:01.234 UTC`: a rehearsal's faults last seconds, so the milliseconds stay. */
function time(iso: string | null): string {
  if (iso === null) return 'never';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')} UTC` : iso;
}

const FORMAT = { time, ms: (ms: number | null) => formatMs(ms) };

function verdictText(result: RehearsalResult): string {
  const bad = invariantRows(result.invariants).filter((r) => !r.holds);
  const injected = result.faults.filter((f) => f.injectedAt !== null).length;
  return result.ok && bad.length === 0
    ? `Every invariant held through ${injected} injected ${injected === 1 ? 'fault' : 'faults'}.`
    : `${bad.length > 0 ? `Violated: ${bad.map((r) => r.name).join(', ')}` : 'The rehearsal did not pass'}.`;
}

function unrecovered(result: RehearsalResult): string[] {
  return result.faults.filter((f) => f.injectedAt !== null && f.recoveryMs === null).map((f) => f.name);
}

/** The section's Markdown lines (heading level 2 inside the run report, 1 alone). */
export function rehearsalSectionMarkdown(result: RehearsalResult, escape: MarkdownEscape, level = 2): string[] {
  const { cell, inline } = escape;
  const h = '#'.repeat(level);
  const out = [`${h} Rehearsal`, '', `**${result.ok ? 'PASSED' : 'FAILED'}**. ${inline(verdictText(result))}`, ''];
  const never = unrecovered(result);
  if (never.length > 0) out.push(inline(`Never recovered: ${never.join(', ')}.`), '');
  out.push(`${h}# Invariants`, '', '| invariant | value | holds |', '| --- | --- | --- |');
  for (const r of invariantRows(result.invariants)) {
    out.push(`| ${cell(r.name)} (${cell(r.label)}) | ${cell(r.value)} | ${r.holds ? 'yes' : '**VIOLATED**'} |`);
  }
  out.push('', `${h}# Faults`, '');
  if (result.faults.length === 0) out.push('No fault was injected.', '');
  else {
    out.push(`| ${FAULT_HEADERS.join(' | ')} |`, `| ${FAULT_HEADERS.map(() => '---').join(' | ')} |`);
    for (const f of result.faults) out.push(`| ${faultCells(f, FORMAT).map(cell).join(' | ')} |`);
    out.push('');
  }
  if (result.historyFile) out.push(inline(`Operation history: ${result.historyFile}`), '');
  return out;
}

/** The section's HTML (inside a `<section>` of the caller). */
export function rehearsalSectionHtml(result: RehearsalResult): string {
  const never = unrecovered(result);
  const invariants = table(
    ['invariant', 'value', 'holds'],
    invariantRows(result.invariants).map((r) => [
      `<code>${e(r.name)}</code> <span class="meta">${e(r.label)}</span>`,
      e(r.value),
      r.holds ? badge('holds', 'good') : badge('VIOLATED', 'bad'),
    ]),
  );
  const faults =
    result.faults.length === 0
      ? '<p class="empty-note">No fault was injected.</p>'
      : table(
          [...FAULT_HEADERS.slice(0, -2), 'recovery', { text: 'failed requests', num: true }],
          result.faults.map((f) => {
            const cells = faultCells(f, FORMAT).map((c) => e(c));
            cells[6] = badge(f.reaction, f.reaction === 'none' ? 'neutral' : 'warn');
            if (f.injectedAt !== null && f.recoveryMs === null) cells[7] = badge('never', 'bad');
            return cells;
          }),
        );
  return [
    `<p>${badge(result.ok ? 'Passed' : 'Failed', result.ok ? 'good' : 'bad')} ${e(verdictText(result))}</p>`,
    never.length > 0 ? `<p><strong>Never recovered:</strong> ${e(never.join(', '))}</p>` : '',
    `<h3>Invariants</h3>${invariants}`,
    `<h3>Faults</h3>${faults}`,
    result.historyFile ? `<p class="meta">Operation history: <code>${e(result.historyFile)}</code></p>` : '',
  ].join('');
}

/** The run report's view of the state directory's rehearsal: its result, or why it could not be read. */
export type ReportRehearsal = { result: RehearsalResult } | { problem: string };

/**
 * The rehearsal of `runId`, if the state directory has one (`rehearsal/result.json` naming this run,
 * or naming none); a result that cannot be read is said in the report instead of failing it.
 */
export function rehearsalOf(stateDir: string, runId: string): ReportRehearsal | undefined {
  try {
    const result = readRehearsalResult(stateDir);
    if (result === null || (result.runId !== undefined && result.runId !== runId)) return undefined;
    return { result };
  } catch (error) {
    return { problem: error instanceof HandoffError ? error.message : String(error) };
  }
}

/** The run report's rehearsal section in Markdown (nothing when the run was not rehearsed). */
export function reportRehearsalMarkdown(r: ReportRehearsal | undefined, escape: MarkdownEscape): string[] {
  if (r === undefined) return [];
  if ('problem' in r)
    return ['## Rehearsal', '', escape.inline(`The rehearsal result cannot be read: ${r.problem}`), ''];
  return [
    ...rehearsalSectionMarkdown(r.result, escape),
    'The rehearsal report: `rehearsal/report.md` and `rehearsal/report.html` in the state directory.',
    '',
  ];
}

/** The run report's rehearsal section body in HTML. */
export function reportRehearsalHtml(r: ReportRehearsal): string {
  if ('problem' in r) return `<p class="empty-note">The rehearsal result cannot be read: ${e(r.problem)}</p>`;
  return `${rehearsalSectionHtml(r.result)}<p class="meta">The rehearsal report: <code>rehearsal/report.html</code> and <code>rehearsal/report.md</code> in the state directory.</p>`;
}
