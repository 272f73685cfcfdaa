/**
 * Writes the report of a run to a file (by default `<stateDir>/reports/<RUN>.html` or `.md`), for
 * `handoff report` and for the engine and the demo at the end of a run. The file is written whole
 * (temporary file, then rename) with mode 0600, and its text passes the redactor and the URL
 * password scrub once more just before it is written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReportModel } from './model.js';
import { scrubUrlCredentials } from './scrub.js';

export const REPORT_FORMATS = ['html', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface WriteRunReportOptions {
  stateDir: string;
  runId: string;
  format?: ReportFormat;
  redactor: Redactor;
  /** Where to write; default `<stateDir>/reports/<runId>.<format>`. */
  out?: string;
  now?: () => Date;
}

/** Run ids become file names: refuse anything that could leave the reports directory. */
function safeFileName(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId) || runId.includes('..')) {
    throw new InputError(`run id "${runId}" cannot name a report file; pass --out FILE`);
  }
  return runId;
}

/** Renders the report of `runId` and writes it; returns the absolute path written. */
export function writeRunReport(options: WriteRunReportOptions): string {
  const format = options.format ?? 'html';
  const model = buildReportModel({
    stateDir: options.stateDir,
    runId: options.runId,
    redactor: options.redactor,
    ...(options.now ? { now: options.now } : {}),
  });
  const file = path.resolve(
    options.out ?? path.join(options.stateDir, 'reports', `${safeFileName(options.runId)}.${format}`),
  );
  const text = format === 'html' ? renderHtml(model, { stateDir: options.stateDir }) : renderMarkdown(model);
  const clean = scrubUrlCredentials(options.redactor.redact(text));
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
      throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(temp, clean, { mode: 0o600 });
    fs.renameSync(temp, file);
  } catch (error) {
    // Nothing half-written is left beside the place the report could not go.
    fs.rmSync(temp, { force: true });
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
    throw new InputError(`cannot write the report to ${file} (${code}); choose another --out`, { cause: error });
  }
  return file;
}
