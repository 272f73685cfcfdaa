/**
 * Where the dashboard listens and who may read it: loopback by default; any other address only with
 * a token (HANDOFF_DASHBOARD_TOKEN), which every request must then carry. Bad input is a UsageError
 * (exit 2) that names the flag; the token's value never appears in a message.
 */
import net from 'node:net';
import { UsageError } from '../common/errors.js';

export const DEFAULT_LISTEN = '127.0.0.1:7480';
export const TOKEN_ENV = 'HANDOFF_DASHBOARD_TOKEN';
/** A token shorter than this is refused (it would be guessable). */
export const MIN_TOKEN_LENGTH = 16;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DashboardAccess {
  listen: ListenAddress;
  /** Required on every request when set. */
  token: string | null;
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (loopback); `flag` names the option in messages. */
export function parseListen(value: string, flag: string): ListenAddress {
  const text = value.trim();
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!match)
    throw new UsageError(`${flag}: "${value}" is not an address; write HOST:PORT, for example 127.0.0.1:7480`);
  const host = match[1] ?? (match[2] === '' || match[2] === undefined ? '127.0.0.1' : match[2]);
  const port = Number(match[3]);
  if (port > 65535) throw new UsageError(`${flag}: port ${port} is out of range; give 0 to 65535`);
  if (host !== 'localhost' && net.isIP(host) === 0)
    throw new UsageError(`${flag}: "${host}" is not an IP address; give one (for example 127.0.0.1) or localhost`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

/** The listener and the token rule for `value` (or the default), from the environment. */
export function dashboardAccess(value: string | undefined, env: NodeJS.ProcessEnv, flag: string): DashboardAccess {
  const listen = parseListen(value ?? DEFAULT_LISTEN, flag);
  const raw = env[TOKEN_ENV];
  const token = raw === undefined || raw === '' ? null : raw;
  if (token !== null && token.length < MIN_TOKEN_LENGTH)
    throw new UsageError(`${TOKEN_ENV}: the token is too short; give at least ${MIN_TOKEN_LENGTH} characters`);
  if (!isLoopback(listen.host) && token === null) {
    throw new UsageError(
      `${flag}: ${listen.host} is not a loopback address; the dashboard shows a run's details, so set ${TOKEN_ENV} (every request must then carry it) or listen on 127.0.0.1`,
    );
  }
  return { listen, token };
}
