import type { Command } from 'commander';
import { NotImplementedError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../main.js';

export function register(program: Command, _ctx: CliContext, run: Runner): void {
  program
    .command('explain')
    .description('say in words why a run is where it is')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(
      run(() => {
        throw new NotImplementedError('`handoff explain`', 'gates and automatic rollback');
      }),
    );
}
