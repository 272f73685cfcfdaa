/**
 * The report's shadow section (issue 15): the shadow stage's verdict read back from the audit trail
 * (`shadow-verdict`), with the counts and the differences summarised by endpoint and by field, in
 * Markdown and in HTML. Nothing when the run had no shadow stage.
 */
import { z } from 'zod';
import { escapeHtml as e } from './escape.js';
import { formatCount, formatMs, formatPercent } from './format.js';
import type { RunTrail } from './trail-reader.js';

const count = z.number().int().min(0);

export const shadowVerdictSchema = z.object({
  outcome: z.enum(['Pass', 'Fail', 'NoData']),
  metric: z.literal('shadow.diff_rate'),
  value: z.number().nullable(),
  threshold: z.number(),
  samples: count,
  minSamples: count,
  share: z.number(),
  durationMs: z.number(),
  counters: z.object({
    matched: count,
    mirrored: count,
    compared: count,
    same: count,
    differences: count,
    noise: count,
    stale: count,
    rereads: count,
    noiseSamples: count,
    noiseDiffering: count,
    dropped: z.object({ concurrency: count, bytes: count, body: count, error: count }),
  }),
  endpoints: z.array(
    z.object({
      endpoint: z.string(),
      compared: count,
      differences: count,
      noise: count,
      stale: count,
      paths: z.array(z.tuple([z.string(), count])),
    }),
  ),
  evidenceFile: z.string(),
  reason: z.string(),
});

export type ReportShadow = z.output<typeof shadowVerdictSchema> & { at: string };

/** Every shadow verdict of the run, in order (a resumed stage may have judged more than once). */
export function shadowOf(trail: RunTrail): ReportShadow[] {
  return trail.pick('shadow-verdict', shadowVerdictSchema).map((entry) => ({ ...entry.data, at: entry.time }));
}

const dropped = (s: ReportShadow): number =>
  s.counters.dropped.concurrency + s.counters.dropped.bytes + s.counters.dropped.body + s.counters.dropped.error;

function lines(s: ReportShadow): { head: string; rows: string[][] } {
  return {
    head: `${s.outcome}: diff rate ${formatPercent(s.value, 3)} (budget ${formatPercent(s.threshold, 3)}), ${formatCount(s.counters.compared)} compared of ${formatCount(s.counters.mirrored)} mirrored (share ${s.share}, ${formatMs(s.durationMs)}); ${formatCount(s.counters.differences)} differences, ${formatCount(s.counters.noise)} noise, ${formatCount(s.counters.stale)} stale, ${formatCount(dropped(s))} dropped. Evidence: ${s.evidenceFile}`,
    rows: s.endpoints.map((x) => [
      x.endpoint,
      formatCount(x.compared),
      formatCount(x.differences),
      formatCount(x.noise),
      formatCount(x.stale),
      x.paths.map(([p, n]) => `${p} (${n})`).join(', ') || '–',
    ]),
  };
}

const HEADERS = ['endpoint', 'compared', 'differences', 'noise', 'stale', 'fields that differed'];

/** Markdown lines; `cell` and `inline` are the report's escapers. */
export function shadowMarkdown(
  shadows: readonly ReportShadow[] | undefined,
  escape: { cell: (t: string) => string; inline: (t: string) => string },
): string[] {
  if (shadows === undefined || shadows.length === 0) return [];
  const out = ['## Shadow reads', ''];
  for (const s of shadows) {
    const { head, rows } = lines(s);
    out.push(escape.inline(head), '');
    if (rows.length > 0) {
      out.push(`| ${HEADERS.join(' | ')} |`, `| ${HEADERS.map(() => '---').join(' | ')} |`);
      for (const r of rows) out.push(`| ${r.map(escape.cell).join(' | ')} |`);
      out.push('');
    }
  }
  return out;
}

export function shadowHtml(shadows: readonly ReportShadow[] | undefined): string {
  if (shadows === undefined || shadows.length === 0) return '<p class="empty-note">The run had no shadow stage.</p>';
  return shadows
    .map((s) => {
      const { head, rows } = lines(s);
      const table =
        rows.length === 0
          ? ''
          : `<table><thead><tr>${HEADERS.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
              .map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`)
              .join('')}</tbody></table>`;
      return `<p>${e(head)}</p>${table}`;
    })
    .join('');
}
