/**
 * Proxy bodies as Toxiproxy's API takes them: `{name, listen, upstream, enabled}`. `listen`
 * defaults to 127.0.0.1 on a port the kernel picks; `enabled` to true. Bad bodies throw an
 * InputError naming the field.
 */
import net from 'node:net';
import { InputError } from '../common/errors.js';
import type { Address } from './proxy.js';
import { isValidName } from './toxic-spec.js';

export interface ProxyInput {
  name: string;
  upstream: string;
  listen?: string;
  enabled?: boolean;
}

export interface ProxyBody {
  name: string;
  listen: Address;
  upstream: Address;
  enabled: boolean;
}

/** Fields an update may change; absent ones keep their value. */
export interface ProxyUpdate {
  listen?: Address;
  upstream?: Address;
  enabled?: boolean;
}

export const DEFAULT_PROXY_LISTEN: Address = { host: '127.0.0.1', port: 0 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const BODY = 'bad request body: ';

function bad(field: string, message: string, prefix = BODY): InputError {
  return new InputError(`${prefix}${field}: ${message}`);
}

/**
 * `HOST:PORT` or `[IPv6]:PORT`; `listen` must name an IP address or localhost. `prefix` starts the
 * message ("bad request body: " for API bodies, "" for a command-line flag).
 */
export function parseHostPort(value: unknown, field: string, kind: 'listen' | 'upstream', prefix = BODY): Address {
  if (typeof value !== 'string') throw bad(field, `must be a string HOST:PORT, got ${JSON.stringify(value)}`, prefix);
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw bad(field, `"${value}" is not HOST:PORT; write for example 127.0.0.1:5432`, prefix);
  }
  const host = (match[1] ?? match[2]) as string;
  if (kind === 'upstream' && port === 0) throw bad(field, 'port 0 is not a port to connect to', prefix);
  if (kind === 'listen' && host !== 'localhost' && net.isIP(host) === 0) {
    throw bad(field, `"${host}" is not an IP address; give one (for example 127.0.0.1) or localhost`, prefix);
  }
  return { host, port };
}

function parseName(value: unknown, field = 'name'): string {
  if (value === undefined || value === '') throw bad(field, 'missing required field');
  if (typeof value !== 'string' || !isValidName(value)) {
    throw bad(field, `must be 1 to 128 letters, digits, "_", "." or "-", got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseEnabled(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw bad(field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A new proxy; `prefix` names its place in a list (populate) in messages. */
export function parseProxyBody(body: unknown, prefix = ''): ProxyBody {
  if (!isRecord(body)) throw bad(prefix || '(body)', 'must be a JSON object');
  const name = parseName(body.name, `${prefix}name`);
  if (body.upstream === undefined || body.upstream === '') throw bad(`${prefix}upstream`, 'missing required field');
  const upstream = parseHostPort(body.upstream, `${prefix}upstream`, 'upstream');
  const listen =
    body.listen === undefined || body.listen === ''
      ? { ...DEFAULT_PROXY_LISTEN }
      : parseHostPort(body.listen, `${prefix}listen`, 'listen');
  const enabled = body.enabled === undefined ? true : parseEnabled(body.enabled, `${prefix}enabled`);
  return { name, listen, upstream, enabled };
}

/** The body of `POST /populate`: a list of proxies, each checked before any is applied. */
export function parsePopulateBody(body: unknown): ProxyBody[] {
  if (!Array.isArray(body)) throw bad('(body)', 'must be a JSON array of proxies');
  const proxies = body.map((item: unknown, index) => parseProxyBody(item, `[${index}].`));
  const seen = new Set<string>();
  proxies.forEach((proxy, index) => {
    if (seen.has(proxy.name)) throw bad(`[${index}].name`, `"${proxy.name}" is given twice`);
    seen.add(proxy.name);
  });
  return proxies;
}

export function parseProxyUpdate(body: unknown): ProxyUpdate {
  if (!isRecord(body)) throw bad('(body)', 'must be a JSON object');
  const update: ProxyUpdate = {};
  if (body.listen !== undefined) update.listen = parseHostPort(body.listen, 'listen', 'listen');
  if (body.upstream !== undefined) update.upstream = parseHostPort(body.upstream, 'upstream', 'upstream');
  if (body.enabled !== undefined) update.enabled = parseEnabled(body.enabled, 'enabled');
  return update;
}
