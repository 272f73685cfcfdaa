/**
 * The rehearsal report (issue 13): the verdict, every invariant with its value (a violated one first
 * and marked), and per fault when it was injected and cleared, what it did, how handoff reacted, the
 * time to recover and the requests that failed meanwhile. In Markdown and in self-contained HTML
 * (the run report's stylesheet, everything escaped), written to `<stateDir>/rehearsal/report.md` and
 * `report.html`. The section itself (rehearsal-section.ts) also goes into the run report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Redactor } from '../common/redact.js';
import type { RehearsalResult } from '../rehearsal/faults/types.js';
import { escapeHtml as e } from './escape.js';
import { badge } from './html-sections.js';
import { REPORT_CSS } from './html-style.js';
import { cell, inline } from './markdown.js';
import { REHEARSAL_DIR } from './rehearsal-result.js';
import { rehearsalSectionHtml, rehearsalSectionMarkdown } from './rehearsal-section.js';
import { scrubUrlCredentials } from './scrub.js';

export function renderRehearsalMarkdown(result: RehearsalResult): string {
  return [...rehearsalSectionMarkdown(result, { cell, inline }, 1), '_Written by handoff._', ''].join('\n');
}

export function renderRehearsalHtml(result: RehearsalResult): string {
  const title = `handoff rehearsal${result.runId ? ` of run ${result.runId}` : ''}: ${result.ok ? 'passed' : 'failed'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header class="top"><h1>Rehearsal ${badge(result.ok ? 'Passed' : 'Failed', result.ok ? 'good' : 'bad')}</h1>${
    result.runId ? `<p class="meta">handoff run <code>${e(result.runId)}</code></p>` : ''
  }</header>
<section id="rehearsal" aria-label="Rehearsal">${rehearsalSectionHtml(result)}</section>
<footer>Written by handoff.</footer>
</main>
</body>
</html>
`;
}

/**
 * Writes `<stateDir>/rehearsal/report.md` and `report.html` (mode 0600, whole: temporary file then
 * rename; the text passes the redactor, when given, and the URL password scrub); returns both paths.
 */
export function writeRehearsalReport(stateDir: string, result: RehearsalResult, redactor?: Redactor): string[] {
  const dir = path.resolve(stateDir, REHEARSAL_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: Array<[string, string]> = [
    ['report.md', renderRehearsalMarkdown(result)],
    ['report.html', renderRehearsalHtml(result)],
  ];
  return files.map(([name, text]) => {
    const file = path.join(dir, name);
    const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
    fs.writeFileSync(temp, scrubUrlCredentials(redactor ? redactor.redact(text) : text), { mode: 0o600 });
    fs.renameSync(temp, file);
    return file;
  });
}
