import type { Command } from 'commander';
import { NotImplementedError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../main.js';

export function register(program: Command, _ctx: CliContext, run: Runner): void {
  program
    .command('resume')
    .description('go on with an unfinished run')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(
      run(() => {
        throw new NotImplementedError('`handoff resume`', 'foundation: run engine');
      }),
    );
}
