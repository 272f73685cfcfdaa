/**
 * The dashboard's view of the state directory's rehearsal (issue 13): its result read from
 * `<stateDir>/rehearsal/result.json` (or why it cannot be read), rendered on the server as a panel
 * (the verdict, the invariants with a violated one first, the fault table), every value escaped.
 */
import { HandoffError } from '../common/errors.js';
import type { RehearsalResult } from '../rehearsal/faults/types.js';
import { escapeHtml as esc } from '../report/escape.js';
import { formatMs } from '../report/format.js';
import { FAULT_HEADERS, faultCells, invariantRows, readRehearsalResult } from '../report/rehearsal-result.js';

export type RehearsalState = { result: RehearsalResult } | { problem: string } | null;

/** The state directory's rehearsal; null when there is none. */
export function readRehearsalState(stateDir: string): RehearsalState {
  try {
    const result = readRehearsalResult(stateDir);
    return result === null ? null : { result };
  } catch (error) {
    return { problem: error instanceof HandoffError ? error.message : String(error) };
  }
}

const time = (iso: string | null): string => (iso === null ? 'never' : iso.replace('T', ' ').replace('Z', ''));

/** The panel's HTML; `runId` given: nothing when the result names another run. */
export function renderRehearsalPanel(state: RehearsalState, runId?: string): string {
  if (state === null) return '';
  if ('problem' in state)
    return `<section id="rehearsal"><h2>Rehearsal</h2><p class="outcome-fail">The rehearsal result cannot be read: ${esc(state.problem)}</p></section>`;
  const { result } = state;
  if (runId !== undefined && result.runId !== undefined && result.runId !== runId) return '';
  const invariants = invariantRows(result.invariants)
    .map(
      (r) =>
        `<tr class="${r.holds ? 'holds' : 'violated'}"><td><code>${esc(r.name)}</code> <span class="muted">${esc(r.label)}</span></td><td>${esc(r.value)}</td><td class="${r.holds ? 'outcome-pass' : 'outcome-fail'}">${r.holds ? 'holds' : 'VIOLATED'}</td></tr>`,
    )
    .join('');
  const faults =
    result.faults.length === 0
      ? '<p class="muted">No fault was injected.</p>'
      : `<table id="rehearsal-faults"><thead><tr>${FAULT_HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${result.faults
          .map(
            (f) =>
              `<tr>${faultCells(f, { time, ms: (ms) => formatMs(ms) })
                .map(
                  (c, i) =>
                    `<td${i === 7 && f.injectedAt !== null && f.recoveryMs === null ? ' class="outcome-fail"' : ''}>${esc(c)}</td>`,
                )
                .join('')}</tr>`,
          )
          .join('')}</tbody></table>`;
  const verdict = result.ok
    ? '<span class="outcome-pass">passed</span>: every invariant held'
    : '<span class="outcome-fail">failed</span>';
  return `<section id="rehearsal"><h2>Rehearsal${result.runId ? ` of run <code>${esc(result.runId)}</code>` : ''}: ${verdict}</h2>
<table id="rehearsal-invariants"><thead><tr><th>invariant</th><th>value</th><th>holds</th></tr></thead><tbody>${invariants}</tbody></table>
<h3>Faults</h3>${faults}</section>`;
}
