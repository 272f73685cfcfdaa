/**
 * The command line. Parses arguments, calls one function per command, and maps errors to exit
 * codes: 0 success, 1 the thing checked is not so, 2 bad input, 3 internal error. This is the only
 * place that decides exit codes; commands return 0 or 1, or throw.
 */
import { Command, CommanderError, Option } from 'commander';
import { exitCodeFor, HandoffError, messageOf, PlanError } from '../common/errors.js';
import { createCliContext, type CliContext, type CliIO, type GlobalFlags } from './context.js';
import { commandLoaders, loadCommands } from './commands/index.js';
import type { CommandModule, Runner } from './command.js';

export type { Action, CommandModule, Runner } from './command.js';

export type ExitCode = 0 | 1 | 2 | 3;

function defaultIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
    columns: () => process.stderr.columns,
  };
}

export function buildProgram(ctx: CliContext, run: Runner, commands: readonly CommandModule[]): Command {
  const program = new Command('handoff')
    .description(
      'Move a live service and its PostgreSQL data between clusters as one gated, resumable, audited pipeline.',
    )
    .version(process.env.npm_package_version ?? '0.1.0', '--version')
    .addOption(new Option('--log-format <format>', 'log format on stderr: text or json').default('text'))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error').default('info'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.out(text),
      writeErr: (text) => ctx.err(text),
      outputError: (text, write) => write(text),
    });
  for (const module of commands) module.register(program, ctx, run);
  // Every subcommand reports usage errors the same way and never exits by itself.
  for (const sub of program.commands) {
    requiredAfterUnknown(sub.exitOverride().showSuggestionAfterError(true));
    for (const inner of sub.commands) requiredAfterUnknown(inner.exitOverride().showSuggestionAfterError(true));
  }
  return program;
}

/**
 * Commander checks required options before unknown ones: `validate --zzz` said "required option
 * '-f, --file <plan>' not specified" and never that --zzz is no option of validate. The required
 * options are checked in a preAction hook instead (commander runs it after its unknown-option
 * check), with commander's own message.
 */
function requiredAfterUnknown(command: Command): void {
  const required = command.options.filter((option) => option.mandatory);
  if (required.length === 0) return;
  for (const option of required) option.mandatory = false;
  command.hook('preAction', (hooked) => {
    for (const option of required) {
      if (hooked.getOptionValue(option.attributeName()) === undefined)
        hooked.error(`error: required option '${option.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
    }
  });
}

/** `scheme://user:PASSWORD@` anywhere in a text: the password of a URL with credentials. */
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:([^\s/@]+)@/gi;

/**
 * Registers, before anything is parsed, the password of every URL with credentials on the command
 * line, wherever it stands (a flag that takes a URL, one that does not, a `--site name=URL`, a run
 * id): a message that quotes a mistyped value back must not print the password in it.
 */
export function registerArgvSecrets(ctx: CliContext, argv: readonly string[]): void {
  for (const arg of argv) {
    for (const match of arg.matchAll(URL_PASSWORD)) {
      const password = match[1] as string;
      ctx.redactor.add(password);
      try {
        const decoded = decodeURIComponent(password);
        if (decoded !== password) ctx.redactor.add(decoded);
      } catch {
        /* not percent-encoded: registered as written */
      }
    }
  }
}

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<ExitCode> {
  let program: Command | undefined;
  const ctx = createCliContext(io, () => (program?.opts() ?? {}) as GlobalFlags);
  registerArgvSecrets(ctx, argv);
  let code: ExitCode = 0;
  const run: Runner =
    (action) =>
    async (...args) => {
      const result = await action(...args);
      code = result === 1 ? 1 : 0;
    };
  try {
    program = buildProgram(ctx, run, await loadCommands(argv));
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    // `help WORD` for a word that is no command: commander would print the general help and exit 0.
    const [first, asked] = argv;
    if (
      first === 'help' &&
      asked !== undefined &&
      !asked.startsWith('-') &&
      !commandLoaders.some(([verb]) => verb === asked)
    ) {
      ctx.err(`error: unknown command '${asked}'; \`handoff --help\` lists the commands\n`);
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    return report(ctx, error);
  }
}

function report(ctx: CliContext, error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; help shown because a subcommand is missing is a usage error.
    if (error.exitCode === 0) return 0;
    // Commander has already printed its message through configureOutput.
    return 2;
  }
  if (error instanceof PlanError) {
    ctx.err(`error: the plan is not valid:\n${error.message}\n`);
    return 2;
  }
  if (error instanceof HandoffError) {
    ctx.err(`error: ${error.message}\n`);
    const cause = error.cause === undefined ? '' : messageOf(error.cause);
    if (cause && !error.message.includes(cause)) ctx.err(`  cause: ${cause}\n`);
    return exitCodeFor(error);
  }
  // A bug: say so, with the stack only when asked for.
  ctx.err(`internal error: ${messageOf(error)}\n`);
  if (ctx.env.HANDOFF_DEBUG && error instanceof Error && error.stack) ctx.err(`${error.stack}\n`);
  return 3;
}
