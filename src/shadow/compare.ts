/**
 * Compares two HTTP answers to the same read: the status, the headers chosen for comparison, and
 * the body: JSON bodies normalised (key order, number forms, ignore list; see json-diff.ts), any
 * other body byte for byte. The result lists what differs as paths: `status`, `header:NAME`,
 * JSON paths (`$.price`), or `body` for a non-JSON body. Pure; no I/O.
 */
import { jsonDifferences, type IgnoreList } from './json-diff.js';

export interface Answer {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface CompareOptions {
  /** Lower-case names of the headers compared (values compared as text). */
  headers: readonly string[];
  ignore: IgnoreList;
  /** Most paths listed per comparison. */
  limit?: number;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function isJson(answer: Answer): boolean {
  const type = headerText(answer.headers['content-type']) ?? '';
  return /[/+]json\b/i.test(type);
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** The paths at which `b` differs from `a`; empty when they are the same answer. */
export function compareAnswers(a: Answer, b: Answer, options: CompareOptions): string[] {
  const limit = options.limit ?? 50;
  const out: string[] = [];
  if (a.status !== b.status) out.push('status');
  for (const name of options.headers) {
    if (headerText(a.headers[name]) !== headerText(b.headers[name])) out.push(`header:${name}`);
  }
  if (isJson(a) && isJson(b)) {
    const x = parseJson(a.body);
    const y = parseJson(b.body);
    if (x.ok && y.ok) {
      out.push(...jsonDifferences(x.value, y.value, options.ignore, Math.max(1, limit - out.length)));
      return out;
    }
  }
  if (!a.body.equals(b.body)) out.push('body');
  return out.slice(0, limit);
}
