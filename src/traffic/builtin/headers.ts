/**
 * Header rules of a reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers, and those the Connection
 * header names, stay on their hop; X-Forwarded-For/-Proto/-Host tell the upstream who asked.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { withoutStickyCookie } from './classify.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Headers never passed upstream besides the hop-by-hop ones: the upstream's Host is its own; `expect` is answered here. */
const NOT_FORWARDED = new Set(['host', 'expect']);

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade');
  return tokens.length === 0 ? null : new Set(tokens);
}

export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The headers sent upstream for a client request. */
export function requestHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const source = req.headers;
  const named = connectionTokens(source.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in source) {
    const value = source[name];
    if (value === undefined || HOP_BY_HOP.has(name) || NOT_FORWARDED.has(name)) continue;
    if (named !== null && named.has(name)) continue;
    out[name] = value;
  }
  if (typeof source.cookie === 'string') {
    const cookie = withoutStickyCookie(source.cookie);
    if (cookie === undefined) delete out.cookie;
    else out.cookie = cookie;
  }
  const ip = clientAddress(req);
  const xff = source['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ip}` : ip;
  if (source['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http';
  if (source['x-forwarded-host'] === undefined && source.host !== undefined) out['x-forwarded-host'] = source.host;
  return out;
}

/** The headers sent to the client for an upstream response. */
export function responseHeaders(source: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(source.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in source) {
    const value = source[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (named !== null && named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The raw header block of an upgrade request sent upstream (Connection and Upgrade kept). */
export function upgradeRequestHead(req: IncomingMessage, host: string, pathPrefix: string): string {
  const headers = requestHeaders(req);
  const lines = [`${req.method ?? 'GET'} ${pathPrefix}${req.url ?? '/'} HTTP/1.1`, `host: ${host}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
  }
  lines.push('connection: Upgrade');
  const upgrade = req.headers.upgrade;
  if (upgrade !== undefined) lines.push(`upgrade: ${upgrade}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
