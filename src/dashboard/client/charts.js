// The dashboard's charts (uPlot, served from node_modules): every chart on the run's one time axis,
// the cursor synchronised across them, stage starts and gate decisions drawn as vertical lines.
// Series come from the run's view (the report's model: weights, traffic samples, lag) plus the
// router's holds and the throttle's pauses. Each chart's container says what it holds in data-*
// attributes (series names, point counts, last values), for tests and curious readers.
/* global document */
import uPlot from '/assets/uPlot.esm.js';

const SITE_COLORS = { source: '#3b5bdb', target: '#e8590c' };
const EXTRA = ['#2b8a3e', '#862e9c', '#c2255c', '#0b7285', '#5f3dc4'];
const DECISION_COLORS = {
  rollback: '#c92a2a',
  Fail: '#c92a2a',
  hold: '#f08c00',
  escalate: '#f08c00',
  advance: '#2b8a3e',
  Pass: '#2b8a3e',
};

function color(name, index) {
  return SITE_COLORS[name] ?? EXTRA[index % EXTRA.length];
}

const sec = (iso) => Date.parse(iso) / 1000;

/** [{name, color, dash?, step?, points: [[tSeconds, value]]}] → uPlot's aligned data. */
function align(series) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const column = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) column[index.get(t)] = v;
    return column;
  });
  return [xs, ...columns];
}

function trafficSeries(traffic, value, scale) {
  const sites = [...new Set(traffic.map((p) => p.site))];
  const out = [];
  sites.forEach((site, i) => {
    for (const cls of ['reads', 'writes']) {
      const points = traffic
        .filter((p) => p.site === site && p.cls === cls && value(p) !== null)
        .map((p) => [sec(p.at), value(p) * scale]);
      if (points.length > 0)
        out.push({ name: `${site} ${cls}`, color: color(site, i), dash: cls === 'writes', points });
    }
  });
  return out;
}

/** Every chart's definition from the view. */
export function chartDefinitions(view) {
  const r = view.report;
  const sites = [...new Set(r.weights.flatMap((w) => [...Object.keys(w.reads), ...Object.keys(w.writes)]))];
  const shown = sites.filter((s) => s !== 'source');
  const weightSeries = [];
  (shown.length > 0 ? shown : sites).forEach((site, i) => {
    for (const cls of ['reads', 'writes']) {
      weightSeries.push({
        name: `${cls} to ${site}`,
        color: color(site, i),
        dash: cls === 'writes',
        step: true,
        points: r.weights.map((w) => [sec(w.at), (w[cls][site] ?? 0) * 100]),
      });
    }
  });
  const latency = [
    ...trafficSeries(r.traffic, (p) => p.p50Ms, 1).map((s) => ({ ...s, name: `${s.name} p50`, width: 1 })),
    ...trafficSeries(r.traffic, (p) => p.p99Ms, 1).map((s) => ({ ...s, name: `${s.name} p99` })),
  ];
  const databases = [...new Set(r.lag.map((p) => p.database))];
  return [
    { id: 'chart-weights', title: 'Traffic weights (%)', unit: '%', max: 100, series: weightSeries },
    {
      id: 'chart-requests',
      title: 'Requests per second',
      unit: '/s',
      series: trafficSeries(r.traffic, (p) => (p.windowMs > 0 ? p.requests / (p.windowMs / 1000) : null), 1),
    },
    {
      id: 'chart-errors',
      title: 'Error rate (%)',
      unit: '%',
      series: trafficSeries(r.traffic, (p) => p.errorRate, 100),
    },
    { id: 'chart-latency', title: 'Latency p50 / p99 (ms)', unit: 'ms', series: latency },
    {
      id: 'chart-lag',
      title: 'Replication lag (ms)',
      unit: 'ms',
      series: databases.map((d, i) => ({
        name: d,
        color: EXTRA[i % EXTRA.length],
        points: r.lag.filter((p) => p.database === d).map((p) => [sec(p.at), p.lagMs]),
      })),
    },
    {
      id: 'chart-held',
      title: 'Held requests and throttle pauses',
      unit: '',
      series: [
        {
          name: 'held requests released',
          color: '#862e9c',
          bars: true,
          points: view.holds.map((h) => [sec(h.at), h.released]),
        },
        {
          name: 'throttle pause (s)',
          color: '#f08c00',
          bars: true,
          points: view.throttle.map((t) => [sec(t.at), (t.pausedMs ?? 0) / 1000]),
        },
      ],
    },
  ];
}

/** Stage starts and gate decisions, as vertical lines on every chart; the cursor near a decision shows its reasons. */
function marksPlugin(getMarks, caption) {
  return {
    hooks: {
      setCursor: [
        (u) => {
          const left = u.cursor.left;
          let text = '';
          if (left !== undefined && left >= 0) {
            for (const mark of getMarks()) {
              if (mark.kind !== 'gate') continue;
              const x = u.valToPos(mark.t, 'x');
              if (Math.abs(x - left) <= 6) {
                text = `${new Date(mark.t * 1000).toISOString().slice(11, 19)} ${mark.label}: ${mark.reason}`;
                break;
              }
            }
          }
          caption.textContent = text;
        },
      ],
      draw: [
        (u) => {
          const { ctx } = u;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.font = `${10 * devicePixelRatioOf()}px sans-serif`;
          for (const mark of getMarks()) {
            const x = Math.round(u.valToPos(mark.t, 'x', true));
            if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = mark.color;
            ctx.setLineDash(mark.kind === 'gate' ? [4, 3] : []);
            ctx.lineWidth = mark.kind === 'gate' ? 2 : 1;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            if (mark.kind === 'stage') {
              ctx.fillStyle = '#868e96';
              ctx.fillText(mark.label, x + 3, top + 10 * devicePixelRatioOf());
            }
          }
          ctx.restore();
        },
      ],
    },
  };
}

function devicePixelRatioOf() {
  return globalThis.devicePixelRatio || 1;
}

export function marksOf(view) {
  const marks = [];
  for (const s of view.report.stages)
    if (s.startedAt) marks.push({ kind: 'stage', t: sec(s.startedAt), label: s.name, color: '#adb5bd' });
  for (const g of view.report.gates)
    marks.push({
      kind: 'gate',
      t: sec(g.at),
      label: `${g.stage}: ${g.outcome}`,
      reason: g.reasons.join('; '),
      color: DECISION_COLORS[g.outcome] ?? '#495057',
    });
  return marks;
}

function describe(el, def, data) {
  el.dataset.series = JSON.stringify(def.series.map((s) => s.name));
  el.dataset.points = String(def.series.reduce((n, s) => n + s.points.length, 0));
  el.dataset.last = JSON.stringify(def.series.map((s) => (s.points.length ? s.points[s.points.length - 1][1] : null)));
  el.dataset.xs = String(data[0].length);
}

/** Draws or updates every chart in `container`; `state` keeps the uPlot instances between calls. */
export function drawCharts(container, view, range, state) {
  state.marks = marksOf(view);
  const width = Math.max(480, Math.min(900, container.clientWidth / (container.clientWidth > 1200 ? 2 : 1) - 24));
  for (const def of chartDefinitions(view)) {
    const data = align(def.series);
    let entry = state.charts.get(def.id);
    const key = JSON.stringify(def.series.map((s) => s.name));
    if (entry && entry.key !== key) {
      // New series (a site or class seen for the first time): a new plot in the same place.
      entry.plot.destroy();
      entry = { el: entry.el };
    }
    if (!entry?.plot) {
      const el = entry?.el ?? document.createElement('div');
      if (!entry) {
        el.className = 'chart';
        el.id = def.id;
        const h = document.createElement('h3');
        h.textContent = def.title;
        el.append(h);
        const caption = document.createElement('div');
        caption.className = 'mark-caption muted';
        el.append(caption);
        container.append(el);
      }
      const opts = {
        width,
        height: 200,
        cursor: { sync: { key: 'handoff-run' } },
        scales: {
          x: { time: true, range: () => [state.range[0], state.range[1]] },
          y: def.max ? { range: [0, def.max] } : { auto: true },
        },
        series: [
          {},
          ...def.series.map((s) => ({
            label: s.name,
            stroke: s.color,
            width: s.width ?? 2,
            dash: s.dash ? [6, 4] : undefined,
            spanGaps: true,
            paths: s.step
              ? uPlot.paths.stepped({ align: 1 })
              : s.bars
                ? uPlot.paths.bars({ size: [0.6, 8] })
                : undefined,
            fill: s.bars ? `${s.color}55` : undefined,
            points: { show: !s.step },
          })),
        ],
        axes: [{}, { size: 54 }],
        plugins: [marksPlugin(() => state.marks, el.querySelector('.mark-caption'))],
      };
      state.range = range;
      entry = { el, key, plot: new uPlot(opts, data, el) };
      state.charts.set(def.id, entry);
    } else {
      state.range = range;
      entry.plot.setData(data, true);
    }
    describe(entry.el, def, data);
  }
}
