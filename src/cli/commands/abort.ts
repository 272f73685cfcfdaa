import type { Command } from 'commander';
import { pauseOrAbort } from '../../engine/manage.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';
import { reportControl } from '../command.js';
import { engineEnv } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('abort')
    .description('stop a run where it is, without undoing anything (rollback stays possible)')
    .argument('<run>', 'the run id')
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who asks (default: the OS user)')
    .action(
      run(async (runId: string, flags: { output?: string; stateDir?: string; as?: string }) => {
        const format = outputFormat(flags.output);
        return reportControl(ctx, format, 'abort', await pauseOrAbort(engineEnv(ctx, flags), runId, 'abort'));
      }),
    );
}
