import type { Command } from 'commander';
import { pauseOrAbort } from '../../engine/manage.js';
import { outputFormat, type CliContext } from '../context.js';
import { engineEnv, reportControl, type Runner } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('pause')
    .description('pause a run at its next step boundary')
    .argument('<run>', 'the run id')
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who asks (default: the OS user)')
    .action(
      run(async (runId: string, flags: { output?: string; stateDir?: string; as?: string }) => {
        const format = outputFormat(flags.output);
        return reportControl(ctx, format, 'pause', await pauseOrAbort(engineEnv(ctx, flags), runId, 'pause'));
      }),
    );
}
