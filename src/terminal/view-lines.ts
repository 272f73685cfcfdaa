/**
 * The terminal view (live-view.ts) as lines no wider than the terminal: a header, the stage
 * pipeline, the current step, one progress bar per table being copied or verified (rows/s and the
 * time left), weights, lag, throttle pauses, the last gate decision, approvals waiting with the
 * command that gives them. Pure. Colour (ANSI SGR) only when asked; NO_COLOR is the caller's.
 */
import { formatMs, formatNumber, type LiveView, type ProgressBar, type StageMark } from './live-view.js';

export interface LineOptions {
  /** Terminal columns; every line is cut to one less (the last column would wrap on some terminals). */
  width: number;
  color: boolean;
}

const MARKS: Record<StageMark, string> = {
  done: '✓',
  current: '▸',
  failed: '✗',
  skipped: '-',
  undone: '↺',
  pending: '·',
};
const COLORS: Partial<Record<StageMark | 'bad' | 'good' | 'dim' | 'bold', string>> = {
  done: '32',
  good: '32',
  current: '33',
  failed: '31',
  bad: '31',
  undone: '35',
  dim: '2',
  bold: '1',
};

export const BAR_FULL = '█';
export const BAR_EMPTY = '░';

export function viewLines(view: LiveView, options: LineOptions): string[] {
  const paint = (text: string, style: keyof typeof COLORS): string =>
    options.color && COLORS[style] ? `\x1b[${COLORS[style]}m${text}\x1b[0m` : text;
  const lines: string[] = [];
  const state =
    view.state === 'succeeded'
      ? paint(view.state, 'good')
      : /failed|rolled|abort/.test(view.state)
        ? paint(view.state, 'bad')
        : view.state;
  lines.push(
    `${paint('handoff', 'bold')} run ${view.runId} (${view.plan}): ${state}${view.stage ? ` at ${view.stage}` : ''} · ${formatMs(view.elapsedMs)}`,
  );
  lines.push(view.pipeline.map((s) => paint(`${MARKS[s.mark]} ${s.name}`, s.mark)).join('  '));
  if (view.step) {
    const tries = view.step.attempts > 1 ? `, attempt ${view.step.attempts}` : '';
    lines.push(`step ${view.step.name} (${formatMs(view.step.elapsedMs)}${tries})`);
  }
  if (view.noExecutor) lines.push(paint('no live executor holds this run (handoff resume it?)', 'bad'));
  const labelWidth = Math.min(28, Math.max(0, ...view.bars.map((b) => b.label.length)));
  for (const bar of view.bars) lines.push(barLine(bar, labelWidth, options.width));
  if (view.weights) lines.push(`weights ${view.weights}`);
  if (view.lag.length > 0) lines.push(`lag ${view.lag.join(' · ')}`);
  for (const t of view.throttle) lines.push(paint(`throttle ${t}`, 'current'));
  if (view.gate) lines.push(`gate ${view.gate}`);
  for (const a of view.approvals) lines.push(paint(`approval waiting: ${a}`, 'current'));
  for (const note of view.notes) lines.push(paint(note, view.state === 'succeeded' ? 'dim' : 'bad'));
  return lines.map((line) => fit(line, options.width));
}

/** `verify app public.orders  [████░░░░]  52 %  520/1,000 chunks  61,000 rows/s  ETA 4 s`. */
export function barLine(bar: ProgressBar, labelWidth: number, width: number): string {
  const f = bar.figures;
  const label = `${bar.kind.padEnd(6)} ${bar.label.padEnd(labelWidth)}`;
  const percent = f.percent === null ? '  ? %' : `${String(f.percent).padStart(3)} %`;
  const count =
    f.total === null
      ? `${formatNumber(f.done)} ${bar.unit}`
      : `${formatNumber(f.done)}/${formatNumber(f.total)} ${bar.unit}`;
  const rate = bar.rowsPerSecond !== null ? `  ${formatNumber(Math.round(bar.rowsPerSecond))} rows/s` : '';
  const eta = f.finished ? '  done' : f.etaMs !== null ? `  ETA ${formatMs(f.etaMs)}` : '';
  const note = bar.note ? `  (${bar.note})` : '';
  const tail = ` ${percent}  ${count}${rate}${eta}${note}`;
  // The bar takes what is left of the line, between 10 and 40 cells.
  const cells = Math.max(10, Math.min(40, width - 1 - label.length - tail.length - 3));
  const filled = f.percent === null ? 0 : Math.floor((f.percent / 100) * cells);
  return `${label} [${BAR_FULL.repeat(filled)}${BAR_EMPTY.repeat(cells - filled)}]${tail}`;
}

/** An SGR colour code (ESC [ ... m). */
const ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const ESCAPE_AT_START = new RegExp(`^${String.fromCharCode(27)}\\[[0-9;]*m`);

/** Visible length (without colour codes). */
export function visibleLength(line: string): number {
  return [...line.replace(ESCAPE, '')].length;
}

/** Cuts a line to `width - 1` visible characters (with `…`), keeping colour codes closed. */
export function fit(line: string, width: number): string {
  const max = Math.max(10, width - 1);
  if (visibleLength(line) <= max) return line;
  let out = '';
  let shown = 0;
  let open = false;
  for (let i = 0; i < line.length && shown < max - 1;) {
    if (line[i] === '\x1b') {
      const match = ESCAPE_AT_START.exec(line.slice(i));
      if (match) {
        out += match[0];
        open = match[0] !== '\x1b[0m';
        i += match[0].length;
        continue;
      }
    }
    const ch = String.fromCodePoint(line.codePointAt(i) as number);
    out += ch;
    shown++;
    i += ch.length;
  }
  return `${out}…${open ? '\x1b[0m' : ''}`;
}
