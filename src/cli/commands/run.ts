import type { Command } from 'commander';
import { loadPlanFile } from '../../plan/load.js';
import { formatRunPlan } from '../../engine/planner.js';
import { dryRun, startRun } from '../../engine/start.js';
import { STAGE_NAMES } from '../../plan/schema.js';
import { listRuns } from '../../engine/status.js';
import type { LiveScreen } from '../../terminal/screen.js';
import { watchRun } from '../../terminal/watch-run.js';
import { outputFormat, type CliContext } from '../context.js';
import { liveCapable, liveLogger, liveOutput } from '../live.js';
import { engineEnv, parseStage, reportOutcome, type Runner } from '../command.js';

interface RunFlags {
  file?: string;
  dryRun?: boolean;
  until?: string;
  output?: string;
  stateDir?: string;
  as?: string;
  dashboard?: string | boolean;
}

export function register(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('run')
    .description('execute a plan, or resume its unfinished run (--dry-run prints the steps)')
    .requiredOption('-f, --file <plan>', 'the plan file')
    .option('--dry-run', 'print the stages, steps, gates and approvals; change nothing')
    .option('--until <stage>', `stop after this stage (${STAGE_NAMES.join(', ')}); resume goes on`)
    .option('-o, --output <format>', 'text or json')
    .option('--state-dir <dir>', 'the state directory (default ./.handoff or HANDOFF_STATE_DIR)')
    .option('--as <name>', 'who runs it (default: the OS user)')
    .option('--dashboard [addr]', 'serve the live dashboard while the run goes (default 127.0.0.1:7480)')
    .action(
      run(async (flags: RunFlags) => {
        const format = outputFormat(flags.output);
        const until = parseStage(flags.until, '--until');
        const env = engineEnv(ctx, flags);
        const loaded = loadPlanFile(flags.file as string);
        if (flags.dryRun) {
          const result = dryRun(env, loaded, until);
          if (format === 'json') ctx.json({ ...result.runPlan, refusal: result.refusal });
          else {
            ctx.out(formatRunPlan(result.runPlan));
            if (result.refusal) ctx.out(`a run would be refused now: ${result.refusal}\n`);
          }
          return 0;
        }
        // Loaded only when asked for: a run without it does not load the web server.
        const { dashboardFromFlag } = await import('../../dashboard/start-flag.js');
        const dashboard = await dashboardFromFlag({
          flag: flags.dashboard,
          stateDir: env.stateDir,
          env: ctx.env,
          redactor: ctx.redactor,
          logger: env.logger,
          write: (text) => ctx.err(text),
        });
        try {
          if (!liveCapable(ctx)) return reportOutcome(ctx, format, await startRun(env, loaded, until));
          // A terminal: the live view (src/terminal/) while the run goes; warnings and errors above it.
          const output = liveOutput(ctx);
          const screen = output.screen as LiveScreen;
          const since = Date.now() - 2000;
          const findRun = (): string | null =>
            listRuns(env)
              .filter((r) => r.plan === loaded.plan.metadata.name && Date.parse(r.updated) >= since)
              .sort((a, b) => b.updated.localeCompare(a.updated))[0]?.id ?? null;
          const stop = new AbortController();
          // The view is best effort: if it cannot read the state directory, the run goes on without it.
          const watching = watchRun({ env, runId: findRun, output, untilStopped: false, signal: stop.signal }).catch(
            () => null,
          );
          let outcome;
          try {
            outcome = await startRun({ ...env, logger: liveLogger(ctx, screen) }, loaded, until);
          } finally {
            stop.abort();
            await watching; // its last frame: the run as it ended
            output.close();
          }
          return reportOutcome(ctx, format, outcome);
        } finally {
          await dashboard?.close();
        }
      }),
    );
}
