import type { Command } from 'commander';
import { planJsonSchema } from '../../plan/json-schema.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('schema')
    .description('print the JSON Schema of plan files, for editors (handoff schema > migration.schema.json)')
    .action(
      run(() => {
        ctx.out(`${JSON.stringify(planJsonSchema(), null, 2)}\n`);
        return 0;
      }),
    );
}
