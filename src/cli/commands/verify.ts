import type { Command } from 'commander';
import { NotImplementedError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../main.js';

export function register(program: Command, _ctx: CliContext, run: Runner): void {
  program
    .command('verify')
    .description('compare two databases to the exact row')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(
      run(() => {
        throw new NotImplementedError('`handoff verify`', 'PostgreSQL data plane');
      }),
    );
}
