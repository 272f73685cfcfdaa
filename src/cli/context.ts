import fs from 'node:fs';
import path from 'node:path';
import { createLogger, type Logger, type LogLevel } from '../common/logger.js';
import { createRedactor, type Redactor } from '../common/redact.js';
import { UsageError } from '../common/errors.js';

/** What every command gets: its streams, environment and the process-wide redactor. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  redactor: Redactor;
  /** Writes to stdout through the redactor. Only results go here; progress goes to stderr. */
  out(text: string): void;
  /** Writes to stderr through the redactor. */
  err(text: string): void;
  /** Prints one JSON document on stdout. */
  json(value: unknown): void;
  /** Makes a logger from the global flags (`--log-format`, `--log-level`); `write` replaces stderr (a live view prints above itself). */
  logger(write?: (line: string) => void): Logger;
  /** The state directory: `--state-dir`, else HANDOFF_STATE_DIR, else ./.handoff. */
  stateDir(flag?: string): string;
  /** Whether stderr is a terminal (progress is quiet when it is not). */
  isTTY: boolean;
  /** The terminal's width in columns (80 when unknown). */
  columns(): number;
}

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isTTY: boolean;
  /** The terminal's width, when stderr is one. */
  columns?: () => number | undefined;
}

export interface GlobalFlags {
  logFormat?: string;
  logLevel?: string;
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function createCliContext(io: CliIO, globals: () => GlobalFlags): CliContext {
  const redactor = createRedactor();
  const ctx: CliContext = {
    env: io.env,
    cwd: io.cwd,
    redactor,
    isTTY: io.isTTY,
    columns: () => io.columns?.() ?? 80,
    out: (text) => io.stdout(redactor.redact(text)),
    err: (text) => io.stderr(redactor.redact(text)),
    json: (value) => io.stdout(`${JSON.stringify(redactor.redactValue(value), null, 2)}\n`),
    logger: (write) => {
      const flags = globals();
      const format = flags.logFormat ?? 'text';
      if (format !== 'json' && format !== 'text') {
        throw new UsageError(`--log-format: "${format}" is not a log format; use json or text`);
      }
      const level = (flags.logLevel ?? 'info') as LogLevel;
      if (!logLevels.includes(level)) {
        throw new UsageError(`--log-level: "${flags.logLevel}" is not a level; use ${logLevels.join(', ')}`);
      }
      return createLogger({ format, level, redactor, write: write ?? ((line) => io.stderr(line)) });
    },
    stateDir: (flag) => {
      const given = flag ?? io.env.HANDOFF_STATE_DIR;
      const dir = path.resolve(io.cwd, given ?? '.handoff');
      const where =
        flag !== undefined ? '--state-dir' : given !== undefined ? 'HANDOFF_STATE_DIR' : 'the default state directory';
      const blocker = notADirectory(dir);
      if (blocker !== null) {
        throw new UsageError(
          `${where}: ${dir} cannot be a state directory: ${blocker === dir ? 'it is' : `${blocker} is`} a file, not a directory`,
        );
      }
      return dir;
    },
  };
  return ctx;
}

/** The path itself or its nearest existing ancestor when that is not a directory; null when all is well. */
function notADirectory(dir: string): string | null {
  for (let at = dir; ; at = path.dirname(at)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch {
      if (path.dirname(at) === at) return null;
      continue;
    }
    return stat.isDirectory() ? null : at;
  }
}

/** Parses `-o`/`--output`; only `json` and `text` exist. */
export function outputFormat(value: string | undefined): 'json' | 'text' {
  const format = value ?? 'text';
  if (format !== 'json' && format !== 'text') {
    throw new UsageError(`-o: "${format}" is not an output format; use json or text`);
  }
  return format;
}
