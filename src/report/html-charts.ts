/**
 * The report's charts, from the model: traffic weights (a step chart), error rate and p99 latency
 * per site and class, and replication lag per database, all on the run's time axis with the
 * stages marked. Each comes with a data table as its text alternative.
 */
import { escapeHtml } from './escape.js';
import { formatMs, formatPercent, formatTime } from './format.js';
import type { ReportModel, TrafficPoint } from './model-types.js';
import { formatOffset, renderChart, type ChartBand, type ChartSeries } from './svg-chart.js';

const SITE_COLORS: Record<string, string> = { source: '#3b5bdb', target: '#e8590c' };
const EXTRA_COLORS = ['#2b8a3e', '#862e9c', '#c2255c', '#0b7285', '#5f3dc4'];
const DB_COLORS = ['#1971c2', '#2f9e44', '#f08c00', '#ae3ec9', '#e03131'];

function siteColor(site: string, index: number): string {
  return SITE_COLORS[site] ?? EXTRA_COLORS[index % EXTRA_COLORS.length] ?? '#495057';
}

export interface TimeFrame {
  from: number;
  to: number;
  bands: ChartBand[];
}

/** The x axis of every chart: the run's start to its end (or its last recorded fact). */
export function timeFrame(model: ReportModel): TimeFrame {
  const times = [
    model.run.startedAt,
    model.run.finishedAt,
    ...model.stages.flatMap((s) => [s.startedAt, s.finishedAt, s.undoneAt]),
    ...model.weights.map((w) => w.at),
    ...model.traffic.map((p) => p.at),
    ...model.lag.map((p) => p.at),
  ]
    .map((t) => (t ? Date.parse(t) : NaN))
    .filter((t) => Number.isFinite(t));
  const from = Date.parse(model.run.startedAt);
  const start = Number.isFinite(from) ? from : Math.min(...times);
  const end = Math.max(start + 1000, ...times);
  const bands: ChartBand[] = model.stages
    .filter((s) => s.startedAt && s.state !== 'skipped')
    .map((s) => ({
      label: s.name,
      start: Date.parse(s.startedAt ?? ''),
      end: Date.parse(s.finishedAt ?? s.undoneAt ?? new Date(end).toISOString()),
    }))
    .filter((b) => Number.isFinite(b.start) && Number.isFinite(b.end));
  for (const rollback of model.rollbacks) {
    const band = {
      label: 'rollback',
      kind: 'rollback' as const,
      start: Date.parse(rollback.startedAt),
      end: rollback.doneAt ? Date.parse(rollback.doneAt) : end,
    };
    if (Number.isFinite(band.start) && Number.isFinite(band.end)) bands.push(band);
  }
  return { from: start, to: end, bands };
}

function dataTable(caption: string, headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<details class="data"><summary>${escapeHtml(caption)} as a table (${rows.length} rows)</summary><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></details>`;
}

function sitesOf(points: TrafficPoint[]): string[] {
  return [...new Set(points.map((p) => p.site))];
}

export function weightsChart(model: ReportModel, frame: TimeFrame): string {
  const series: ChartSeries[] = [];
  const sites = [...new Set(model.weights.flatMap((w) => [...Object.keys(w.reads), ...Object.keys(w.writes)]))];
  const shown = sites.filter((s) => s !== 'source');
  (shown.length > 0 ? shown : sites).forEach((site, index) => {
    for (const cls of ['reads', 'writes'] as const) {
      series.push({
        name: `${cls} to ${site}`,
        color: siteColor(site, index),
        ...(cls === 'writes' ? { dash: '7 4' } : {}),
        step: true,
        points: model.weights.map((w) => ({ t: Date.parse(w.at), v: (w[cls][site] ?? 0) * 100 })),
      });
    }
  });
  const chart = renderChart({
    id: 'chart-weights',
    title: 'Traffic weights over time',
    description: `Share of reads and writes routed to ${shown.join(' and ') || 'each site'}, in percent, at each of ${model.weights.length} route changes.`,
    yLabel: 'share of requests (%)',
    formatY: (v) => `${Math.round(v)} %`,
    series,
    from: frame.from,
    to: frame.to,
    bands: frame.bands,
    yMax: 100,
  });
  const rows = model.weights.map((w) => [
    formatOffset(Date.parse(w.at) - frame.from),
    formatTime(w.at),
    Object.entries(w.reads)
      .map(([s, v]) => `${s} ${formatPercent(v, 1)}`)
      .join(', '),
    Object.entries(w.writes)
      .map(([s, v]) => `${s} ${formatPercent(v, 1)}`)
      .join(', '),
    w.reason,
  ]);
  return chart + dataTable('Route changes', ['offset', 'time', 'reads', 'writes', 'why'], rows);
}

function trafficSeries(model: ReportModel, value: (p: TrafficPoint) => number | null, scale: number): ChartSeries[] {
  const series: ChartSeries[] = [];
  sitesOf(model.traffic).forEach((site, index) => {
    for (const cls of ['reads', 'writes'] as const) {
      const points = model.traffic
        .filter((p) => p.site === site && p.cls === cls)
        .flatMap((p) => {
          const v = value(p);
          return v === null ? [] : [{ t: Date.parse(p.at), v: v * scale }];
        });
      if (points.length === 0) continue;
      series.push({
        name: `${site} ${cls}`,
        color: siteColor(site, index),
        ...(cls === 'writes' ? { dash: '7 4' } : {}),
        points,
      });
    }
  });
  return series;
}

export function errorRateChart(model: ReportModel, frame: TimeFrame): string {
  return renderChart({
    id: 'chart-errors',
    title: 'Error rate per site',
    description: `Share of requests that failed (5xx, connection failures, timeouts) at each site, reads and writes, in each of the router's sample windows.`,
    yLabel: 'error rate (%)',
    formatY: (v) => (v >= 1 ? `${Math.round(v * 10) / 10} %` : `${Math.round(v * 100) / 100} %`),
    series: trafficSeries(model, (p) => p.errorRate, 100),
    from: frame.from,
    to: frame.to,
    bands: frame.bands,
  });
}

export function latencyChart(model: ReportModel, frame: TimeFrame): string {
  const chart = renderChart({
    id: 'chart-p99',
    title: 'p99 latency per site',
    description: `99th percentile response time at each site, reads and writes, per sample window, in milliseconds.`,
    yLabel: 'p99 latency (ms)',
    formatY: (v) => `${Math.round(v)} ms`,
    series: trafficSeries(model, (p) => p.p99Ms, 1),
    from: frame.from,
    to: frame.to,
    bands: frame.bands,
  });
  const rows = model.traffic.map((p) => [
    formatOffset(Date.parse(p.at) - frame.from),
    p.site,
    p.cls,
    String(p.requests),
    String(p.errors),
    formatPercent(p.errorRate),
    formatMs(p.p50Ms),
    formatMs(p.p99Ms),
  ]);
  return (
    chart +
    dataTable('Traffic samples', ['offset', 'site', 'class', 'requests', 'errors', 'error rate', 'p50', 'p99'], rows)
  );
}

export function lagChart(model: ReportModel, frame: TimeFrame): string {
  const databases = [...new Set(model.lag.map((p) => p.database))];
  const series: ChartSeries[] = databases.map((database, index) => ({
    name: database,
    color: DB_COLORS[index % DB_COLORS.length] ?? '#1971c2',
    points: model.lag.filter((p) => p.database === database).map((p) => ({ t: Date.parse(p.at), v: p.lagMs })),
  }));
  const chart = renderChart({
    id: 'chart-lag',
    title: 'Replication lag',
    description: `How far each target database was behind its source (heartbeat marker), in milliseconds, for ${databases.join(', ') || 'no database'}.`,
    yLabel: 'lag (ms)',
    formatY: (v) => `${Math.round(v)} ms`,
    series,
    from: frame.from,
    to: frame.to,
    bands: frame.bands,
  });
  const rows = model.lag.map((p) => [formatOffset(Date.parse(p.at) - frame.from), p.database, formatMs(p.lagMs)]);
  return chart + dataTable('Replication lag', ['offset', 'database', 'lag'], rows);
}
