import type { Command } from 'commander';
import { explainRun, formatExplanation } from '../../engine/explain.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';
import { engineEnv } from '../command.js';
import { decisionsFlag } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('explain')
    .description('say in words why a run is where it is, and what can move it on')
    .argument('<run>', 'the run id (handoff status lists them)')
    .option('-o, --output <format>', 'text or json')
    .option('--decisions <n>', "how many of the run's last gate decisions to explain (default 10)")
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .action(
      run((runId: string, flags: { output?: string; stateDir?: string; decisions?: string }) => {
        const format = outputFormat(flags.output);
        const decisions = decisionsFlag(flags.decisions);
        const explanation = explainRun(engineEnv(ctx, flags), runId, { decisions });
        if (format === 'json') ctx.json(explanation);
        else ctx.out(formatExplanation(explanation));
        return 0;
      }),
    );
}
