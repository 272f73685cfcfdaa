import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { REPORT_FORMATS, writeRunReport, type ReportFormat } from '../../report/write.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';

function reportFormat(value: string | undefined): ReportFormat {
  const format = value ?? 'html';
  const known = REPORT_FORMATS.find((f) => f === format);
  if (!known) throw new UsageError(`--format: "${format}" is not a report format; use ${REPORT_FORMATS.join(' or ')}`);
  return known;
}

interface ReportFlags {
  format?: string;
  out?: string;
  stateDir?: string;
  output?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('report')
    .description('write the report of a run (HTML or Markdown) and print its path')
    .argument('<run>', 'the run id (handoff status lists them)')
    .option('--format <format>', 'html (one self-contained file) or md', 'html')
    .option('--out <file>', 'where to write it (default <state-dir>/reports/<run>.<format>)')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('-o, --output <format>', 'text or json')
    .action(
      run((runId: string, flags: ReportFlags) => {
        const output = outputFormat(flags.output);
        const format = reportFormat(flags.format);
        if (flags.out !== undefined && flags.out.trim() === '') throw new UsageError('--out: give a file name');
        const file = writeRunReport({
          stateDir: ctx.stateDir(flags.stateDir),
          runId,
          format,
          redactor: ctx.redactor,
          ...(flags.out !== undefined ? { out: path.resolve(ctx.cwd, flags.out) } : {}),
        });
        if (output === 'json') ctx.json({ report: file });
        else ctx.out(`${file}\n`);
        return 0;
      }),
    );
}
