/** The report's stylesheet: inline, system fonts, readable on screen and on paper, no external asset. */
export const REPORT_CSS = `
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --good: #1a7f37; --good-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff8c5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 1px solid var(--line); padding-bottom: 16px; margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
.meta { color: var(--muted); font-size: 13px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.hash { word-break: break-all; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 13px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.tone-good { color: var(--good); background: var(--good-bg); }
.tone-bad { color: var(--bad); background: var(--bad-bg); }
.tone-warn { color: var(--warn); background: var(--warn-bg); }
.tone-neutral { color: var(--muted); background: var(--panel); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 18px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--panel); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 650; margin-top: 2px; }
.card .sub { color: var(--muted); font-size: 12.5px; }
.card.tone-good .value { color: var(--good); } .card.tone-bad .value { color: var(--bad); }
.card.tone-warn .value { color: var(--warn); }
.card.tone-good, .card.tone-bad, .card.tone-warn { background: var(--panel); color: inherit; }
nav.toc { font-size: 13px; margin: 12px 0 0; }
nav.toc a { color: var(--muted); margin-right: 12px; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 13.5px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
table.kv th { width: 32%; font-weight: 500; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { text-align: left; caption-side: bottom; padding-top: 4px; }
.gantt { position: relative; height: 12px; min-width: 160px; background: var(--panel); border-radius: 3px; }
.gantt span { position: absolute; top: 0; bottom: 0; border-radius: 3px; min-width: 2px; background: #8c959f; }
.gantt span.tone-good { background: #4ac26b; } .gantt span.tone-bad { background: #ff8182; }
.gantt span.tone-warn { background: #d4a72c; }
figure.chart-figure { margin: 12px 0 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: #eaeef2; stroke-width: 1; }
svg.chart .frame { fill: none; stroke: var(--line); }
svg.chart .tick { font-size: 11px; fill: var(--muted); }
svg.chart .axis-label { font-size: 11px; fill: var(--muted); }
svg.chart .boundary { stroke: #afb8c1; stroke-dasharray: 2 3; }
svg.chart .band-0 { fill: #eef1f4; } svg.chart .band-1 { fill: #e1e6eb; } svg.chart .band-rollback { fill: #ffd8d3; }
svg.chart .band-label { font-size: 11px; fill: #424a53; }
svg.chart .empty { font-size: 13px; fill: var(--muted); }
ul.legend { list-style: none; padding: 0; margin: 4px 0 0 64px; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 12.5px; color: var(--muted); }
ul.legend li { display: flex; align-items: center; gap: 6px; }
details.data { margin: 2px 0 10px; font-size: 13px; }
details.data summary { cursor: pointer; color: var(--muted); }
.empty-note { color: var(--muted); font-style: italic; }
.checks { margin: 4px 0 0; }
.checks td, .checks th { font-size: 12.5px; padding: 3px 6px; }
ul.plain { margin: 4px 0; padding-left: 20px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print {
  body { font-size: 11pt; } main { max-width: none; padding: 0; } nav.toc { display: none; }
  h2 { break-after: avoid; } figure, table, .cards { break-inside: avoid; }
  details.data { display: none; }
  .badge, .card, th, .gantt span { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;
