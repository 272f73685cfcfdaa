import type { Command } from 'commander';
import { NotImplementedError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../main.js';

export function register(program: Command, _ctx: CliContext, run: Runner): void {
  program
    .command('validate')
    .description('check a plan file and print what is wrong, with file:line:column')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(
      run(() => {
        throw new NotImplementedError('`handoff validate`', 'foundation: plan files');
      }),
    );
}
