/**
 * The dashboard's token check (only when a token is set): `Authorization: Bearer <token>`, the
 * cookie the page gets, or `?token=` on a first page load, which sets the cookie and redirects to
 * the same address without the token (so it stays out of the browser's history and of any
 * referrer). Anything else gets 401 JSON. The comparison is constant-time; the token is never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

export const COOKIE = 'handoff_dashboard';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function cookieValue(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function tokenGuard(token: string): MiddlewareHandler {
  const expected = digest(token);
  const matches = (given: string | null | undefined): boolean =>
    typeof given === 'string' && timingSafeEqual(digest(given), expected);
  return async (c, next) => {
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (matches(bearer) || matches(cookieValue(c.req.header('cookie')))) return next();
    const url = new URL(c.req.url);
    if (c.req.method === 'GET' && matches(url.searchParams.get('token'))) {
      url.searchParams.delete('token');
      c.header('Set-Cookie', `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    c.header('WWW-Authenticate', 'Bearer realm="handoff dashboard"');
    return c.json(
      {
        error: 'unauthorized',
        message:
          'this dashboard needs its token: send Authorization: Bearer <token>, or open the page once with ?token=<token>',
      },
      401,
    );
  };
}
