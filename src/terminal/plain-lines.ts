/**
 * The run's events as plain lines, for a watcher whose stderr is not a terminal (a CI log, a
 * pipe): one line per event that says something to a person, no escape codes, no redraw. The
 * chatty ones (measurements, router samples, step intents) are left out; progress is said with
 * the same figures as the live view. Pure.
 */
import type { LiveEvent, LiveState } from './live-state.js';
import { formatMs, formatNumber, formatPercent } from './live-view.js';
import { progressFigures } from './progress.js';

const QUIET = new Set([
  'log',
  'step-intent',
  'check-measured',
  'traffic-sample',
  'lease-acquired',
  'router-lag-changed',
  'pg-marker-seen',
]);

/** One line for an event (already folded into `state`), or null when it is left out. */
export function plainLine(event: LiveEvent, state: LiveState): string | null {
  if (QUIET.has(event.type)) return null;
  const d = event.data;
  const text = describe(event, d, state);
  return text === null ? null : `${event.time.slice(11, 19)} ${text}`;
}

function describe(event: LiveEvent, d: Record<string, unknown>, state: LiveState): string | null {
  const s = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
  switch (event.type) {
    case 'stage-started':
      return `stage ${s(d.stage)} started`;
    case 'stage-done':
      return `stage ${s(d.stage)} done`;
    case 'stage-skipped':
      return `stage ${s(d.stage)} skipped: ${s(d.reason)}`;
    case 'stage-failed':
      return `stage ${s(d.stage)} failed: ${s(d.error)}`;
    case 'step-done':
      return `step ${s(d.step)} done`;
    case 'step-failed':
      return `step ${s(d.step)} failed: ${s(d.error)}`;
    case 'pg-verify-progress': {
      const item = state.verify.get(`${s(d.database)}/${s(d.table)}`);
      if (!item) return null;
      const f = progressFigures(item.samples, item.total, item.finished);
      const rate = progressFigures(item.rowSamples, null, false).ratePerSecond;
      const extra = [
        `${formatNumber(f.done)}/${formatNumber(f.total ?? 0)} chunks`,
        ...(rate !== null ? [`${formatNumber(Math.round(rate))} rows/s`] : []),
        ...(f.etaMs !== null && !f.finished ? [`ETA ${formatMs(f.etaMs)}`] : []),
      ];
      return `verify ${s(d.database)} ${s(d.table)} ${f.percent ?? '?'} % (${extra.join(', ')})`;
    }
    case 'pg-table-verified':
      return `verified ${s(d.table)}: ${d.identical === true ? 'identical' : 'differs'} (${formatNumber(Number(d.sourceRows) || 0)} rows)`;
    case 'pg-copy-progress': {
      const copy = state.copy.get(s(d.database));
      if (!copy) return null;
      const rows = copy.tables.reduce((sum, t) => sum + t.rows, 0);
      return `copy ${copy.database} ${copy.tablesDone}/${copy.tablesTotal} tables${copy.ready ? ' (ready)' : ''}${rows > 0 ? `, ${formatNumber(rows)} rows so far` : ''}`;
    }
    case 'traffic-weights': {
      const w = state.weights;
      if (!w) return null;
      const side = (x: Record<string, number>): string =>
        Object.entries(x)
          .map(([site, v]) => `${site} ${formatPercent(v)}`)
          .join(' ');
      return `weights reads ${side(w.reads)} · writes ${side(w.writes)}${w.reason ? ` (${w.reason})` : ''}`;
    }
    case 'replication-lag':
      return `lag ${s(d.database)} ${formatMs(Number(d.lagMs) || 0)}`;
    case 'gate-decided':
      return `gate ${s(d.gate)}: ${s(d.outcome)}${d.reason ? `: ${s(d.reason)}` : ''}`;
    case 'approval-waiting':
      return `waiting for approval of ${s(d.stage)} by role ${Array.isArray(d.roles) ? d.roles.join(', ') : s(d.roles)}`;
    case 'run-finished':
      return `run finished: ${s(d.state)}${d.reason ? ` (${s(d.reason)})` : ''}`;
    default:
      return `${event.type}${event.subject ? ` ${event.subject}` : ''}`;
  }
}
