import { pino, type Logger as PinoLogger } from 'pino';
import type { Redactor } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** What components take to log. No module-level loggers: pass one in. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** `json`: one pino JSON object a line. `text`: readable lines. */
  format?: 'json' | 'text';
  level?: LogLevel;
  redactor: Redactor;
  /** Where lines go; stderr by default (stdout is reserved for `-o json`). */
  write?: (line: string) => void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const level = options.level ?? 'info';
  const { redactor } = options;
  if ((options.format ?? 'text') === 'json') {
    const base = pino(
      { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      { write: (line: string) => write(redactor.redact(line)) },
    );
    return wrapPino(base);
  }
  return createTextLogger({ level, redactor, write }, {});
}

function wrapPino(log: PinoLogger): Logger {
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    child: (fields) => wrapPino(log.child(fields)),
  };
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}

function createTextLogger(
  options: { level: LogLevel; redactor: Redactor; write: (line: string) => void },
  bound: LogFields,
): Logger {
  const emit = (lvl: LogLevel, message: string, fields: LogFields = {}): void => {
    if (order[lvl] < order[options.level]) return;
    const all = { ...bound, ...fields };
    const rest = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(' ');
    const time = new Date().toISOString().slice(11, 23);
    const line = `${time} ${lvl.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}\n`;
    options.write(options.redactor.redact(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createTextLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything; for tests and library callers that do not want logs. */
export function createSilentLogger(): Logger {
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  return silent;
}
