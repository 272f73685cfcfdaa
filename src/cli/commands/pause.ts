import type { Command } from 'commander';
import { pauseOrAbort, type ControlResult } from '../../engine/manage.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../main.js';
import { engineEnv } from './run.js';

/** Prints what a pause, abort or rollback did (shared by those commands). */
export function reportControl(ctx: CliContext, format: 'json' | 'text', action: string, result: ControlResult): 0 | 1 {
  const { run } = result;
  if (format === 'json') {
    ctx.json({ run: run.id, action, requested: result.requested, state: run.state, stage: run.stage, reason: run.reason, error: run.error });
  } else if (result.requested) {
    ctx.out(`run ${run.id}: asked its executor to ${action}; it acts at the next step boundary (handoff status ${run.id})\n`);
  } else {
    ctx.out(`run ${run.id}: ${run.state}${run.reason ? ` (${run.reason})` : ''}\n`);
    if (run.error) ctx.out(`  error: ${run.error}\n`);
  }
  return result.completed ? 0 : 1;
}

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
