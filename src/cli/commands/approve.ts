import type { Command } from 'commander';
import { UsageError } from '../../common/errors.js';
import { approveRun } from '../../engine/manage.js';
import { outputFormat, type CliContext } from '../context.js';
import type { Runner } from '../command.js';
import { engineEnv } from '../command.js';

interface ApproveFlags {
  stage: string;
  as: string;
  role: string;
  output?: string;
  stateDir?: string;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('approve')
    .description('record an approval for a stage of a run (who, role, when)')
    .argument('<run>', 'the run id')
    .requiredOption('--stage <stage>', 'the stage the approval is for')
    .requiredOption('--as <name>', 'who approves')
    .requiredOption('--role <role>', 'the role the plan asks for (spec.approvals)')
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .action(
      run(async (runId: string, flags: ApproveFlags): Promise<0> => {
        const format = outputFormat(flags.output);
        const env = engineEnv(ctx, flags);
        if (flags.role.trim() === '') throw new UsageError('--role: give a role');
        const { approval, already } = await approveRun(env, {
          runId,
          stage: flags.stage,
          by: env.actor,
          role: flags.role,
        });
        if (format === 'json') {
          ctx.json({
            run: runId,
            stage: approval.stage,
            by: approval.by,
            role: approval.role,
            at: approval.approvedAt,
            already,
          });
        } else {
          ctx.out(
            already
              ? `run ${runId}: stage ${approval.stage} was already approved by ${approval.by} (role ${approval.role}) at ${approval.approvedAt}\n`
              : `run ${runId}: stage ${approval.stage} approved by ${approval.by} (role ${approval.role})\n`,
          );
        }
        return 0;
      }),
    );
}
