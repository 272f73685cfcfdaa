/**
 * JSON comparison for shadow reads: two parsed documents are compared structurally, so key order
 * and number forms (`1.0` and `1`, `1e2` and `100`) never count; what differs is listed as JSON
 * paths (`$.items[3].price`), leaving out the paths an ignore list names. Pure; no I/O.
 *
 * Ignore patterns: a path such as `$.meta.requestId`, with `*` for any one key or index
 * (`$.items[*].updatedAt` or `$.items.*.updatedAt`), or a bare field name (`updatedAt`) that matches
 * that field at any depth.
 */

export type PathSegment = string | number;

export interface IgnoreList {
  matches(path: readonly PathSegment[]): boolean;
}

/** Splits `$.a.b[2].c` or `$.a[*].b` into segments (`*` kept as is); InputError-free: bad text gives null. */
export function parsePathPattern(text: string): string[] | null {
  const body = text.startsWith('$') ? text.slice(1) : null;
  if (body === null) return null;
  const segments: string[] = [];
  const re = /\.([^.[\]]+)|\[(\d+|\*)\]|\["([^"]*)"\]/y;
  let at = 0;
  while (at < body.length) {
    re.lastIndex = at;
    const m = re.exec(body);
    if (m === null) return null;
    segments.push((m[1] ?? m[2] ?? m[3]) as string);
    at = re.lastIndex;
  }
  return segments;
}

/** Builds the ignore list; patterns must be valid (the plan schema checks them with `parsePathPattern`). */
export function createIgnoreList(patterns: readonly string[]): IgnoreList {
  const fields = new Set<string>();
  const paths: string[][] = [];
  for (const pattern of patterns) {
    const parsed = parsePathPattern(pattern);
    if (parsed === null) fields.add(pattern);
    else paths.push(parsed);
  }
  return {
    matches(path) {
      const last = path[path.length - 1];
      if (typeof last === 'string' && fields.has(last)) return true;
      for (const pattern of paths) {
        if (pattern.length !== path.length) continue;
        let ok = true;
        for (let i = 0; i < pattern.length && ok; i++) ok = pattern[i] === '*' || pattern[i] === String(path[i]);
        if (ok) return true;
      }
      return false;
    },
  };
}

const IDENT = /^[A-Za-z_$][\w$-]*$/;

/** `$.items[3].price`; keys that are not plain identifiers are quoted (`$["a b"]`). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENT.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The path with every array index replaced by `*`: differences at `$.items[3].x` and `$.items[7].x` are one field. */
export function fieldOf(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The JSON paths at which `a` and `b` differ (at most `limit`), leaving out ignored paths. An array
 * of different length differs at each index present on one side only.
 */
export function jsonDifferences(a: unknown, b: unknown, ignore: IgnoreList, limit = 50): string[] {
  const out: string[] = [];
  const path: PathSegment[] = [];
  const walk = (x: unknown, y: unknown): void => {
    if (out.length >= limit) return;
    if (path.length > 0 && ignore.matches(path)) return;
    const kx = kindOf(x);
    if (kx !== kindOf(y)) {
      out.push(formatPath(path));
      return;
    }
    if (kx === 'array') {
      const ax = x as unknown[];
      const ay = y as unknown[];
      const n = Math.max(ax.length, ay.length);
      for (let i = 0; i < n && out.length < limit; i++) {
        path.push(i);
        if (i >= ax.length || i >= ay.length) {
          if (!ignore.matches(path)) out.push(formatPath(path));
        } else walk(ax[i], ay[i]);
        path.pop();
      }
      return;
    }
    if (kx === 'object') {
      const ox = x as Record<string, unknown>;
      const oy = y as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(ox), ...Object.keys(oy)])].sort();
      for (const key of keys) {
        if (out.length >= limit) return;
        path.push(key);
        if (!Object.hasOwn(ox, key) || !Object.hasOwn(oy, key)) {
          if (!ignore.matches(path)) out.push(formatPath(path));
        } else walk(ox[key], oy[key]);
        path.pop();
      }
      return;
    }
    // Numbers were parsed, so 1.0 and 1, 1e2 and 100 are already equal here.
    if (x !== y) out.push(formatPath(path));
  };
  walk(a, b);
  return out;
}

/** A canonical text of a JSON value: keys sorted, numbers in JavaScript's shortest form. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
