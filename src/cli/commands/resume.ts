import type { Command } from 'commander';
import { resumeRun } from '../../engine/manage.js';
import { STAGE_NAMES } from '../../plan/schema.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';
import { engineEnv, parseStage, reportOutcome } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('resume')
    .description('go on with a paused or interrupted run (replays unfinished steps)')
    .argument('<run>', 'the run id (handoff status lists them)')
    .option('--until <stage>', `stop after this stage (${STAGE_NAMES.join(', ')})`)
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who resumes it (default: the OS user)')
    .action(
      run(async (runId: string, flags: { until?: string; output?: string; stateDir?: string; as?: string }) => {
        const format = outputFormat(flags.output);
        const until = flags.until === undefined ? undefined : parseStage(flags.until, '--until');
        const env = engineEnv(ctx, flags);
        return reportOutcome(ctx, format, await resumeRun(env, runId, until));
      }),
    );
}
