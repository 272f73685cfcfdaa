import type { Command } from 'commander';
import { rollbackCommand } from '../../engine/manage.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';
import { engineEnv } from '../command.js';
import { reportControl } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('rollback')
    .description('undo every step of a run in reverse order (asks a running executor to do it)')
    .argument('<run>', 'the run id')
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who asks (default: the OS user)')
    .action(
      run(async (runId: string, flags: { output?: string; stateDir?: string; as?: string }) => {
        const format = outputFormat(flags.output);
        const result = await rollbackCommand(engineEnv(ctx, flags), runId);
        return reportControl(ctx, format, 'rollback', result);
      }),
    );
}
