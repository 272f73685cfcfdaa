import type { Command } from 'commander';
import { startDashboard } from '../../dashboard/server.js';
import { dashboardAccess, DEFAULT_LISTEN, TOKEN_ENV } from '../../dashboard/listen.js';
import type { CliContext } from '../context.js';
import type { Runner } from '../command.js';

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('dashboard')
    .description("serve a live web view of the state directory's runs, their API and /metrics (until Ctrl-C)")
    .option('--listen <addr>', `HOST:PORT (default ${DEFAULT_LISTEN}); beyond loopback only with ${TOKEN_ENV}`)
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .action(
      run(async (flags: { listen?: string; stateDir?: string }): Promise<0> => {
        const access = dashboardAccess(flags.listen, ctx.env, '--listen');
        if (access.token) ctx.redactor.add(access.token);
        const stateDir = ctx.stateDir(flags.stateDir);
        const dashboard = await startDashboard({ stateDir, ...access, redactor: ctx.redactor, logger: ctx.logger() });
        ctx.err(`dashboard for ${stateDir}: ${dashboard.url}/${access.token ? ` (needs ${TOKEN_ENV})` : ''}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await dashboard.close();
        return 0;
      }),
    );
}
