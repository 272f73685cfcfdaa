/**
 * Request classes and the read-after-write cookie.
 *
 * A request is a read when its method is a read method and, if read paths are configured, its path
 * starts with one of them; everything else is a write. The rule errs towards writes on purpose: a
 * read sent to the writer is merely slower, a write sent to a read-only replica fails.
 */
import type { RequestClass } from '../routes.js';

export const DEFAULT_READ_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;
export const STICKY_COOKIE = 'handoff_writer';

export interface Classifier {
  classify(method: string | undefined, url: string | undefined): RequestClass;
}

export function createClassifier(options: {
  readMethods: readonly string[];
  readPaths: readonly string[];
}): Classifier {
  const methods = new Set(options.readMethods.map((m) => m.toUpperCase()));
  const paths = [...options.readPaths];
  return {
    classify(method, url) {
      if (method === undefined || !methods.has(method)) return 'writes';
      if (paths.length === 0) return 'reads';
      const path = url ?? '/';
      for (const prefix of paths) if (path.startsWith(prefix)) return 'reads';
      return 'writes';
    },
  };
}

/** The Set-Cookie value that sends this client's reads to `site` until `now + stickyMs`. */
export function stickyCookie(site: string, now: number, stickyMs: number): string {
  const expires = (now + stickyMs).toString(36);
  const maxAge = Math.max(1, Math.ceil(stickyMs / 1000));
  return `${STICKY_COOKIE}=${site}.${expires}; Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Lax`;
}

/**
 * Reads the sticky site from a Cookie header: the site name when the cookie is present, names a
 * known site and has not expired (expiry further ahead than `stickyMs` is refused as forged).
 */
export function stickySite(
  cookieHeader: string | undefined,
  sites: ReadonlySet<string>,
  now: number,
  stickyMs: number,
): string | null {
  if (cookieHeader === undefined) return null;
  const at = cookieHeader.indexOf(`${STICKY_COOKIE}=`);
  if (at < 0) return null;
  if (at > 0 && cookieHeader[at - 1] !== ' ' && cookieHeader[at - 1] !== ';') return null;
  const start = at + STICKY_COOKIE.length + 1;
  const end = cookieHeader.indexOf(';', start);
  const value = cookieHeader.slice(start, end < 0 ? undefined : end).trim();
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return null;
  const site = value.slice(0, dot);
  const expires = Number.parseInt(value.slice(dot + 1), 36);
  if (!sites.has(site) || !Number.isFinite(expires)) return null;
  if (expires <= now || expires > now + stickyMs + 1000) return null;
  return site;
}

/** The Cookie header without the router's own cookie (upstreams never see it); undefined if empty. */
export function withoutStickyCookie(cookieHeader: string): string | undefined {
  if (!cookieHeader.includes(STICKY_COOKIE)) return cookieHeader;
  const kept = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !part.startsWith(`${STICKY_COOKIE}=`));
  return kept.length === 0 ? undefined : kept.join('; ');
}
