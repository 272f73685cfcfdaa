/** How the report writes numbers, times and outcomes, the same in HTML and Markdown. */

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min ${seconds} s`;
}

export function formatPercent(fraction: number | null | undefined, digits = 2): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  const pct = fraction * 100;
  return `${pct === 0 ? '0' : pct.toFixed(pct >= 10 ? Math.min(digits, 1) : digits)} %`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return Math.abs(n) >= 100 ? n.toFixed(1) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** `2026-11-26 08:40:12 UTC` (seconds are enough to read; the trail keeps the milliseconds). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Weights as `source 75 % · target 25 %`. */
export function formatWeights(weights: Record<string, number>): string {
  const entries = Object.entries(weights);
  if (entries.length === 0) return '–';
  return entries.map(([site, w]) => `${site} ${formatPercent(w, w * 100 < 1 ? 2 : 0)}`).join(' · ');
}

/** What a run's final state means, in a few words, and whether it is good news. */
export function verdict(state: string): { text: string; tone: 'good' | 'bad' | 'warn' } {
  switch (state) {
    case 'succeeded':
      return { text: 'Succeeded', tone: 'good' };
    case 'rolled-back':
      return { text: 'Rolled back', tone: 'warn' };
    case 'aborted':
      return { text: 'Aborted', tone: 'warn' };
    case 'failed':
      return { text: 'Failed', tone: 'bad' };
    case 'paused':
      return { text: 'Paused', tone: 'warn' };
    default:
      return { text: state.charAt(0).toUpperCase() + state.slice(1), tone: 'warn' };
  }
}

/** Outcomes of stages, gates and checks as good, bad or neutral. */
export function outcomeTone(outcome: string): 'good' | 'bad' | 'warn' | 'neutral' {
  const o = outcome.toLowerCase();
  if (['done', 'pass', 'passed', 'advance', 'ready', 'succeeded', 'identical'].includes(o)) return 'good';
  if (['failed', 'fail', 'rollback', 'error', 'differs'].includes(o)) return 'bad';
  if (['hold', 'escalate', 'inconclusive', 'nodata', 'no-data', 'undone', 'warning', 'running'].includes(o))
    return 'warn';
  return 'neutral';
}
