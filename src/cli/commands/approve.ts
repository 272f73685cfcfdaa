import type { Command } from 'commander';
import { NotImplementedError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../main.js';

export function register(program: Command, _ctx: CliContext, run: Runner): void {
  program
    .command('approve')
    .description('record an approval for a stage')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(
      run(() => {
        throw new NotImplementedError('`handoff approve`', 'foundation: run engine');
      }),
    );
}
