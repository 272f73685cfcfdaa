import { describe, expect, it } from 'vitest';
import { createClassifier, STICKY_COOKIE, stickyCookie, stickySite, withoutStickyCookie } from './classify.js';

describe('request classes', () => {
  it('treats GET, HEAD and OPTIONS as reads and the rest as writes by default', () => {
    const c = createClassifier({ readMethods: ['GET', 'HEAD', 'OPTIONS'], readPaths: [] });
    expect(['GET', 'HEAD', 'OPTIONS'].map((m) => c.classify(m, '/'))).toEqual(['reads', 'reads', 'reads']);
    expect(['POST', 'PUT', 'PATCH', 'DELETE', undefined].map((m) => c.classify(m, '/'))).toEqual(
      Array(5).fill('writes'),
    );
  });

  it('restricts reads to the configured path prefixes (anything else is a write)', () => {
    const c = createClassifier({ readMethods: ['GET'], readPaths: ['/api/', '/search'] });
    expect(c.classify('GET', '/api/orders')).toBe('reads');
    expect(c.classify('GET', '/search?q=1')).toBe('reads');
    expect(c.classify('GET', '/logout')).toBe('writes');
    expect(c.classify('HEAD', '/api/orders')).toBe('writes');
  });
});

describe('read-after-write cookie', () => {
  const sites = new Set(['source', 'target']);
  it('round-trips a site until it expires', () => {
    const now = 1_700_000_000_000;
    const header = stickyCookie('target', now, 5000);
    expect(header).toMatch(/^handoff_writer=target\.[0-9a-z]+; Max-Age=5; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = `theme=dark; ${header.split(';')[0]}; other=1`;
    expect(stickySite(cookie, sites, now + 4999, 5000)).toBe('target');
    expect(stickySite(cookie, sites, now + 5000, 5000)).toBeNull();
  });

  it('ignores unknown sites, forged far-future expiry, garbage and look-alike names', () => {
    const now = 1_700_000_000_000;
    expect(stickySite(`${STICKY_COOKIE}=mars.${(now + 1000).toString(36)}`, sites, now, 5000)).toBeNull();
    expect(stickySite(`${STICKY_COOKIE}=source.${(now + 9_999_999).toString(36)}`, sites, now, 5000)).toBeNull();
    expect(stickySite(`${STICKY_COOKIE}=garbage`, sites, now, 5000)).toBeNull();
    expect(stickySite(`x${STICKY_COOKIE}=source.${(now + 1000).toString(36)}`, sites, now, 5000)).toBeNull();
    expect(stickySite(undefined, sites, now, 5000)).toBeNull();
  });

  it('is removed from the Cookie header sent upstream', () => {
    expect(withoutStickyCookie(`a=1; ${STICKY_COOKIE}=source.abc; b=2`)).toBe('a=1; b=2');
    expect(withoutStickyCookie(`${STICKY_COOKIE}=source.abc`)).toBeUndefined();
    expect(withoutStickyCookie('a=1')).toBe('a=1');
  });
});
