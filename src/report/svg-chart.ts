/**
 * Inline SVG time charts for the HTML report, generated as text (no library, no script, no external
 * asset): line or step series over a shared time axis, with the run's stages drawn as a band at the
 * top and their boundaries as thin vertical lines. Each chart carries a <title> and <desc> for
 * screen readers, and every series path says what it holds in data attributes, so a test (or a
 * curious reader) can tell a chart with data from an empty frame.
 */
import { escapeHtml } from './escape.js';

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
}

export interface ChartSeries {
  name: string;
  color: string;
  /** SVG stroke-dasharray, for example `6 4`; solid when absent. */
  dash?: string;
  /** Holds its value until the next point (weights), instead of a straight line between points. */
  step?: boolean;
  points: ChartPoint[];
}

export interface ChartBand {
  label: string;
  start: number;
  end: number;
  /** A rollback is drawn in its own colour. */
  kind?: 'stage' | 'rollback';
}

export interface ChartOptions {
  id: string;
  title: string;
  /** One or two sentences: what the chart shows, for the alt text. */
  description: string;
  yLabel: string;
  formatY: (value: number) => string;
  series: ChartSeries[];
  /** The time span of the x axis (the whole run, so every chart lines up). */
  from: number;
  to: number;
  bands: ChartBand[];
  /** Fixed top of the y axis (100 for percentages); otherwise a rounded maximum of the data. */
  yMax?: number;
}

const WIDTH = 760;
const HEIGHT = 240;
const PAD = { left: 64, right: 16, top: 34, bottom: 36 };

/** 1, 2 or 5 times a power of ten at or above `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** 4 or 5 grid divisions, whichever gives the tighter axis with round ticks. */
function niceDivisions(max: number): number {
  return niceCeiling(max / 5) * 5 < niceCeiling(max / 4) * 4 ? 5 : 4;
}

/** A round tick interval (seconds, then minutes, then hours) giving at most 8 ticks. */
export function timeStep(spanMs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];
  for (const seconds of steps) if (spanMs / (seconds * 1000) <= 8) return seconds * 1000;
  return Math.ceil(spanMs / 8 / 86_400_000) * 86_400_000;
}

/** `+1:05` style offsets from the start of the run. */
export function formatOffset(ms: number): string {
  const total = Math.round(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return minutes >= 60
    ? `+${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}`
    : `+${minutes}:${String(seconds).padStart(2, '0')}`;
}

/** Above this many points a line is thinned to the first, lowest, highest and last point of each bucket. */
const MAX_BUCKETS = 340;

/**
 * Thins a long series for drawing (a run of hours has thousands of samples, more than the chart has
 * pixels) while keeping every spike: per time bucket its first, lowest, highest and last point.
 */
export function thin(points: ChartPoint[], from: number, to: number, buckets: number): ChartPoint[] {
  if (points.length <= buckets * 2) return points;
  const width = (to - from) / buckets || 1;
  const out: ChartPoint[] = [];
  let start = 0;
  while (start < points.length) {
    const bucket = Math.floor(((points[start]?.t ?? from) - from) / width);
    let end = start;
    while (end + 1 < points.length && Math.floor(((points[end + 1]?.t ?? from) - from) / width) === bucket) end++;
    const slice = points.slice(start, end + 1);
    const keep = new Set<ChartPoint>();
    const first = slice[0];
    const last = slice[slice.length - 1];
    let low = first;
    let high = first;
    for (const p of slice) {
      if (low && p.v < low.v) low = p;
      if (high && p.v > high.v) high = p;
    }
    for (const p of [first, low, high, last]) if (p) keep.add(p);
    out.push(...slice.filter((p) => keep.has(p)));
    start = end + 1;
  }
  return out;
}

const round = (n: number): string => (Math.round(n * 10) / 10).toString();

export function renderChart(options: ChartOptions): string {
  const { from } = options;
  const to = options.to > from ? options.to : from + 1000;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const dataMax = Math.max(0, ...options.series.flatMap((s) => s.points.map((p) => p.v)));
  const divisions = options.yMax !== undefined ? 4 : niceDivisions(dataMax);
  const yMax = options.yMax ?? niceCeiling(dataMax / divisions) * divisions;
  const x = (t: number): number => PAD.left + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * plotW;
  const y = (v: number): number => PAD.top + plotH - (Math.min(Math.max(v, 0), yMax) / yMax) * plotH;
  const parts: string[] = [];
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${options.id}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${titleId} ${descId}" data-series-count="${options.series.length}">`,
    `<title id="${titleId}">${escapeHtml(options.title)}</title>`,
    `<desc id="${descId}">${escapeHtml(options.description)}</desc>`,
  );
  // Stage band and boundaries.
  options.bands.forEach((band, index) => {
    const x0 = x(band.start);
    const x1 = Math.max(x(band.end), x0 + 1);
    parts.push(
      `<g class="band"><rect x="${round(x0)}" y="4" width="${round(x1 - x0)}" height="18" class="${band.kind === 'rollback' ? 'band-rollback' : `band-${index % 2}`}"><title>${escapeHtml(band.label)}</title></rect>`,
    );
    if (x1 - x0 > band.label.length * 6.2 + 6) {
      parts.push(
        `<text x="${round((x0 + x1) / 2)}" y="17" text-anchor="middle" class="band-label">${escapeHtml(band.label)}</text>`,
      );
    }
    parts.push(
      `</g><line x1="${round(x0)}" x2="${round(x0)}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="boundary"/>`,
    );
  });
  // Axes and grid.
  for (let i = 0; i <= divisions; i++) {
    const value = (yMax * i) / divisions;
    const yy = round(y(value));
    parts.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${yy}" y2="${yy}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${yy}" dy="0.32em" text-anchor="end" class="tick">${escapeHtml(options.formatY(value))}</text>`,
    );
  }
  const stepMs = timeStep(to - from);
  for (let offset = 0; offset <= to - from; offset += stepMs) {
    const xx = x(from + offset);
    const anchor = offset === 0 ? 'start' : xx > PAD.left + plotW - 20 ? 'end' : 'middle';
    parts.push(
      `<line x1="${round(xx)}" x2="${round(xx)}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 4}" class="grid"/>`,
      `<text x="${round(xx)}" y="${PAD.top + plotH + 16}" text-anchor="${anchor}" class="tick">${formatOffset(offset)}</text>`,
    );
  }
  parts.push(
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 4}" text-anchor="middle" class="axis-label">time since the run started</text>`,
    `<text transform="translate(12 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeHtml(options.yLabel)}</text>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" class="frame"/>`,
  );
  // Series.
  for (const series of options.series) {
    const all = [...series.points].sort((a, b) => a.t - b.t);
    if (all.length === 0) continue;
    const points = series.step ? all : thin(all, from, to, MAX_BUCKETS);
    const coords: string[] = [];
    points.forEach((p, i) => {
      if (series.step && i > 0) coords.push(`${round(x(p.t))},${round(y(points[i - 1]?.v ?? p.v))}`);
      coords.push(`${round(x(p.t))},${round(y(p.v))}`);
    });
    const lastPoint = points[points.length - 1];
    if (series.step && lastPoint) coords.push(`${round(x(to))},${round(y(lastPoint.v))}`);
    const dash = series.dash ? ` stroke-dasharray="${series.dash}"` : '';
    parts.push(
      `<g class="series"><polyline points="${coords.join(' ')}" fill="none" stroke="${series.color}" stroke-width="2"${dash} data-series="${escapeHtml(series.name)}" data-points="${all.length}"><title>${escapeHtml(series.name)}</title></polyline>`,
    );
    if (points.length <= 80) {
      for (const p of points) {
        parts.push(
          `<circle cx="${round(x(p.t))}" cy="${round(y(p.v))}" r="2.5" fill="${series.color}"><title>${escapeHtml(`${series.name} at ${formatOffset(p.t - from)}: ${options.formatY(p.v)}`)}</title></circle>`,
        );
      }
    }
    parts.push('</g>');
  }
  if (options.series.every((s) => s.points.length === 0)) {
    parts.push(
      `<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle" class="empty">no data recorded</text>`,
    );
  }
  parts.push('</svg>');
  const legend = options.series
    .map(
      (s) =>
        `<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/></svg>${escapeHtml(s.name)}</li>`,
    )
    .join('');
  return `<figure class="chart-figure">${parts.join('')}<figcaption><ul class="legend">${legend}</ul></figcaption></figure>`;
}
