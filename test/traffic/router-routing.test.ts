import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRouterFixture, type RouterFixture } from './support/sites.js';

let fixture: RouterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Sends `count` requests at `concurrency`, returns how many each site answered. */
async function spread(
  f: RouterFixture,
  method: string,
  count: number,
  concurrency = 16,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const res = await f.send(method, '/item');
      expect(res.status).toBe(200);
      seen[res.body] = (seen[res.body] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return seen;
}

/** The share must lie within 4 binomial standard deviations (plus one request) of the weight. */
function expectShare(received: number, total: number, weight: number): void {
  const sd = Math.sqrt(total * weight * (1 - weight));
  expect(Math.abs(received - total * weight)).toBeLessThanOrEqual(4 * sd + 1);
}

describe('the built-in router routes by class and weight', () => {
  it('respects read weights of 0.99/0.01 and 0.7/0.3 over a few thousand requests', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    await fixture.router.setRoutes({ reads: { source: 0.99, target: 0.01 } });
    const small = await spread(fixture, 'GET', 3000);
    expectShare(small.target ?? 0, 3000, 0.01);
    expect(small.target ?? 0).toBeGreaterThan(0);
    await fixture.router.setRoutes({ reads: { source: 0.7, target: 0.3 } });
    const big = await spread(fixture, 'GET', 2000);
    expectShare(big.target ?? 0, 2000, 0.3);
    const snapshot = await fixture.router.snapshot();
    expect(snapshot.observed.reads.requests).toBe(2000);
    expect(snapshot.observed.reads.shares.target).toBeCloseTo((big.target ?? 0) / 2000, 9);
    // Writes were never shifted: none reached the target.
    const writes = await spread(fixture, 'POST', 200);
    expect(writes).toEqual({ source: 200 });
  });

  it('sends reads and writes by their own weights, and classifies by method and path prefix', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null, readPaths: ['/api/'], stickyAfterWriteMs: 0 });
    await fixture.router.setRoutes({ reads: { source: 0, target: 1 }, writes: { source: 1, target: 0 } });
    expect((await fixture.send('GET', '/api/orders')).body).toBe('target');
    expect((await fixture.send('GET', '/admin/export')).body).toBe('source'); // not under a read path: a write
    expect((await fixture.send('POST', '/api/orders', { body: '{}' })).body).toBe('source');
  });

  it('sends a client that just wrote back to the writer for its reads (cookie), and others by weight', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null, stickyAfterWriteMs: 5000 });
    await fixture.router.setRoutes({ reads: { source: 0, target: 1 } });
    const write = await fixture.send('POST', '/orders', { body: 'x' });
    const setCookie = [write.headers['set-cookie']].flat().find((c) => c?.startsWith('handoff_writer='));
    expect(setCookie).toMatch(/^handoff_writer=source\.[0-9a-z]+; Max-Age=5;/);
    const cookie = (setCookie as string).split(';')[0] as string;
    for (let i = 0; i < 5; i++) {
      expect((await fixture.send('GET', '/orders/1', { headers: { cookie: `a=1; ${cookie}` } })).body).toBe('source');
    }
    expect((await fixture.send('GET', '/orders/1')).body).toBe('target');
    // The upstream never sees the router's cookie; the client's other cookies pass.
    const last = (fixture.sites.source?.seen ?? []).at(-1);
    expect(last?.headers.cookie).toBe('a=1');
    // A cookie that expired, or names no site, is ignored.
    const expired = `handoff_writer=source.${(Date.now() - 1000).toString(36)}`;
    expect((await fixture.send('GET', '/x', { headers: { cookie: expired } })).body).toBe('target');
    expect((await fixture.send('GET', '/x', { headers: { cookie: 'handoff_writer=mars.zzzzzzzz' } })).body).toBe(
      'target',
    );
  });

  it('sends reads to the target only while its reported lag is known and under the bound', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: 500, stickyAfterWriteMs: 0 });
    await fixture.router.setRoutes({ reads: { source: 0, target: 1 } });
    expect((await fixture.send('GET', '/a')).body).toBe('source'); // lag unknown
    await fixture.router.reportLag({ target: 100 });
    expect((await fixture.send('GET', '/a')).body).toBe('target');
    await fixture.router.reportLag({ target: 900 });
    expect((await spread(fixture, 'GET', 50)).target).toBeUndefined();
    await fixture.router.reportLag({ target: 20 });
    expect((await fixture.send('GET', '/a')).body).toBe('target');
    await fixture.router.reportLag({ target: null });
    expect((await fixture.send('GET', '/a')).body).toBe('source');
    const lagEvents = fixture.events.filter((e) => e.type === 'router-lag-changed').map((e) => e.data);
    expect(lagEvents.map((d) => (d as { readable: boolean }).readable)).toEqual([true, false, true, false]);
  });

  it('retries once on the other site when the connection failed and nothing was sent', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    // The target's server is gone before any request: connecting to it is refused.
    await fixture.sites.target?.close();
    await fixture.router.setRoutes({ reads: { source: 0.5, target: 0.5 }, writes: { source: 0.5, target: 0.5 } });
    const reads = await spread(fixture, 'GET', 40, 4);
    expect(reads).toEqual({ source: 40 });
    const post = await fixture.send('POST', '/pay', { body: 'amount=5' });
    const post2 = await fixture.send('POST', '/pay', { body: 'amount=6' });
    expect([post.status, post2.status]).toEqual([200, 200]);
    expect(fixture.sites.source?.seen.filter((r) => r.method === 'POST').map((r) => r.body)).toEqual([
      'amount=5',
      'amount=6',
    ]);
    const snapshot = await fixture.router.snapshot();
    expect(snapshot.stats.retries).toBe(21);
    expect(snapshot.stats.sites.target?.reads.errors).toBe(20);
  });

  it('does not retry a request that reached the upstream, and counts 5xx and resets as errors', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    await fixture.router.setRoutes({ writes: { source: 0.5, target: 0.5 } });
    const target = fixture.sites.target;
    if (!target) throw new Error('no target');
    target.handler = (req) => req.socket.destroy(); // the request arrived, then the connection dies
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await fixture.send('POST', '/w', { body: `n=${i}` })).status);
    expect(results.filter((s) => s === 502)).toHaveLength(2);
    expect(target.seen).toHaveLength(2);
    expect(fixture.sites.source?.seen).toHaveLength(2);
    target.handler = (_req, res) => {
      res.writeHead(503);
      res.end('busy');
    };
    expect((await fixture.send('POST', '/w', { body: 'x' })).status).toBe(200);
    expect((await fixture.send('POST', '/w', { body: 'y' })).status).toBe(503);
    const snapshot = await fixture.router.snapshot();
    expect(snapshot.stats.retries).toBe(0);
    expect(snapshot.stats.sites.target?.writes).toMatchObject({ requests: 3, errors: 3 });
    expect(snapshot.stats.sites.source?.writes).toMatchObject({ requests: 3, errors: 0 });
    expect(snapshot.stats.sites.source?.writes.p99Ms).toBeGreaterThan(0);
  });

  it('answers 504 when the upstream sends no headers in time, cuts a response whose body stalls, and counts both as errors', async () => {
    fixture = await startRouterFixture({ headersTimeoutMs: 300, bodyIdleTimeoutMs: 300 });
    const source = fixture.sites.source;
    if (!source) throw new Error('no source');
    source.handler = (req, res) => {
      if (req.url === '/stall-body') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
      }
      // '/stall-headers': never answers.
    };
    const started = Date.now();
    const late = await fixture.send('GET', '/stall-headers');
    expect(late.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(10_000);
    const cut = await fixture.send('GET', '/stall-body').then(
      () => 'complete',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(cut).not.toBe('complete');
    const snapshot = await fixture.router.snapshot();
    expect(snapshot.stats.sites.source?.reads).toMatchObject({ requests: 2, errors: 2, inFlight: 0 });
  });

  it('passes HEAD answers and Expect: 100-continue uploads through', async () => {
    fixture = await startRouterFixture();
    const source = fixture.sites.source;
    if (!source) throw new Error('no source');
    source.handler = (req, res, body) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length || 5) });
      res.end(req.method === 'HEAD' ? undefined : body || 'hello');
    };
    const head = await fixture.send('HEAD', '/doc');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('5');
    const port = Number(new URL(fixture.server.proxyUrl).port);
    const raw = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /up HTTP/1.1\r\nHost: shop\r\nContent-Length: 7\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        );
      });
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.startsWith('HTTP/1.1 100') && !text.includes('payload')) socket.write('payload');
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(raw).toMatch(/HTTP\/1\.1 200 OK[\s\S]*payload$/);
    expect(source.seen.at(-1)?.headers.expect).toBeUndefined();
  });

  it('sets X-Forwarded-For/-Proto/-Host and strips hop-by-hop headers both ways', async () => {
    fixture = await startRouterFixture();
    const source = fixture.sites.source;
    if (!source) throw new Error('no source');
    source.handler = (_req, res) => {
      res.writeHead(200, { 'keep-alive': 'timeout=5', 'x-private': 'drop', connection: 'x-private', 'x-kept': 'yes' });
      res.end('ok');
    };
    const port = Number(new URL(fixture.server.proxyUrl).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'GET /h HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 10.1.1.1\r\nConnection: close, x-secret-hop\r\nX-Secret-Hop: 1\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9v\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const seen = source.seen.at(-1);
    expect(seen?.headers['x-forwarded-for']).toBe('10.1.1.1, 127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers['x-forwarded-host']).toBe('shop.example');
    expect(seen?.headers['x-secret-hop']).toBeUndefined();
    expect(seen?.headers.te).toBeUndefined();
    expect(seen?.headers['proxy-authorization']).toBeUndefined();
    expect(seen?.headers.host).toBe(new URL(source.url).host);
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw.toLowerCase()).toContain('x-kept: yes');
    expect(raw.toLowerCase()).not.toContain('x-private');
    expect(raw.toLowerCase()).not.toContain('keep-alive: timeout=5');
  });
});
