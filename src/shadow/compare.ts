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

/** The last segment of a JSON path as compareAnswers writes it: `.name`, `[3]` or `["odd key"]`. */
const LAST_SEGMENT = /(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/;

/** The path of the object or array that holds `path` (`$` for a top-level field); null for `$` or a non-JSON path. */
export function parentPath(path: string): string | null {
  if (!path.startsWith('$') || path === '$') return null;
  const parent = path.replace(LAST_SEGMENT, '');
  return parent === path ? null : parent;
}

const within = (path: string, parent: string): boolean =>
  path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);

/**
 * Where a lag-aware comparison's differences are this request's noise, given a second read of the
 * source taken after the target answered (`again`). The target, caught up with the first answer,
 * may show any state of the source between the two reads:
 * - a path at which the two source answers differ changed meanwhile: noise;
 * - if at such a path the target matches neither source answer, the target saw a state in between,
 *   so the whole record holding that path (its parent object or array) was in motion: every path
 *   in it is noise too. A balance that moved and came back (100, 95, 100) differs on the target
 *   while both source reads agree; its record's `updatedAt` tells that it moved.
 * A target that shows the second answer's state at every changed path was not in between: its other
 * differences count (the record's version moved, but the owner is simply wrong).
 */
export function requestNoise(
  first: Answer,
  again: Answer,
  target: Answer,
  paths: readonly string[],
  options: CompareOptions,
): string[] {
  const changed = compareAnswers(first, again, options);
  if (changed.length === 0) return [];
  const lagging = new Set(compareAnswers(again, target, options));
  const moving = changed
    .filter((p) => lagging.has(p))
    .map(parentPath)
    .filter((p): p is string => p !== null);
  const inMotion = paths.filter((p) => moving.some((parent) => within(p, parent)));
  return [...new Set([...changed, ...inMotion])];
}
