/**
 * The live terminal view for commands (src/terminal/): `handoff status --watch` and `handoff run`
 * on a terminal. Chooses the output (a live block redrawn in place when stderr is a terminal,
 * plain lines otherwise; colour unless NO_COLOR is set or TERM is dumb) and restores the cursor
 * when the process is interrupted.
 */
import type { Logger } from '../common/logger.js';
import type { LiveScreen } from '../terminal/screen.js';
import { createLiveScreen } from '../terminal/screen.js';
import type { WatchOutput } from '../terminal/watch-run.js';
import type { CliContext } from './context.js';

export interface LiveOutput extends WatchOutput {
  /** Shows the cursor again and stops listening for signals. Idempotent. */
  close(): void;
}

/** Whether a live block can be drawn: stderr is a terminal that understands cursor moves. */
export function liveCapable(ctx: CliContext): boolean {
  return ctx.isTTY && ctx.env.TERM !== 'dumb';
}

export function liveOutput(ctx: CliContext, live = liveCapable(ctx)): LiveOutput {
  const screen: LiveScreen | null = live ? createLiveScreen((text) => ctx.err(text)) : null;
  const color = live && ctx.env.NO_COLOR === undefined && ctx.env.TERM !== 'dumb';
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals): void => {
    screen?.close();
    // Only this listener: let the signal do what it would have done without it (end the process).
    if (process.listenerCount(signal) === 1) {
      stop();
      process.kill(process.pid, signal);
    }
  };
  const stop = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  if (screen) for (const signal of signals) process.on(signal, onSignal);
  return {
    screen,
    line: (text) => ctx.err(text),
    columns: () => ctx.columns(),
    color,
    close() {
      screen?.close();
      stop();
    },
  };
}

/** How the engine logs an event: under its type (engine/observers.ts). */
const EVENT_TYPE = /^[a-z]+(-[a-z0-9]+)+$/;

/**
 * A logger for a run drawn live, printing above the block: warnings, errors and the engine's own
 * info lines (the run started, the report written); the events' info lines are left to the view.
 */
export function liveLogger(ctx: CliContext, screen: LiveScreen): Logger {
  const base = ctx.logger((line) => screen.print(line));
  const quiet = (logger: Logger): Logger => ({
    debug: () => undefined,
    info: (message, fields) => {
      if (!EVENT_TYPE.test(message)) logger.info(message, fields);
    },
    warn: (message, fields) => logger.warn(message, fields),
    error: (message, fields) => logger.error(message, fields),
    child: (fields) => quiet(logger.child(fields)),
  });
  return quiet(base);
}
