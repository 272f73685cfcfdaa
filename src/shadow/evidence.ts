/**
 * What a difference leaves as evidence: the bodies, redacted and truncated. JSON values under keys
 * that name secrets (password, token, secret, authorization, cookie, api key, ...) are replaced
 * before anything is kept; other bodies are kept as text only up to the bound. The engine passes
 * every record through the run's redactor as well before it writes it.
 */
import { REDACTED } from '../common/redact.js';

const SECRET_KEY = /pass(word)?|secret|token|authori[sz]ation|cookie|api[-_]?key|credential|private[-_]?key/i;

function redactJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? REDACTED : redactJson(inner);
    return out;
  }
  return value;
}

/** The body as evidence: JSON with secret-named fields redacted, at most `maxBytes` bytes (then `…[truncated N bytes]`). */
export function evidenceBody(body: Buffer, json: boolean, maxBytes: number): string {
  let text: string;
  if (json) {
    try {
      text = JSON.stringify(redactJson(JSON.parse(body.toString('utf8'))));
    } catch {
      text = body.toString('utf8');
    }
  } else {
    text = body.toString('utf8');
  }
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const cut = Buffer.from(text)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}…[truncated ${bytes - Buffer.byteLength(cut)} bytes]`;
}

/** The request path as evidence: the query is left out (it may carry tokens). */
export function evidencePath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}
