import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createBuiltinRouter, type BuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';

const MB = 1024 * 1024;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function router(source: string): Promise<BuiltinRouter> {
  const built = await createBuiltinRouter({ listen: { host: '127.0.0.1', port: 0 }, sites: { source } });
  cleanups.push(() => built.server.close(1000));
  return built;
}

/** A promise with its resolve function, failing after `ms` so no test can hang. */
function signal(what: string, ms = 15_000): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms).unref();
  });
  return { promise, resolve };
}

function chunk(index: number): Buffer {
  return Buffer.alloc(MB, index % 251);
}

describe('streaming through the router', () => {
  it('streams a 10 MB request body: the upstream sees the first bytes before the client has sent the rest', async () => {
    const firstBytes = signal('the upstream to see the first bytes');
    const site = await upstream((req, res) => {
      const hash = createHash('sha256');
      let total = 0;
      req.on('data', (c: Buffer) => {
        if (total === 0) firstBytes.resolve();
        total += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ total, sha256: hash.digest('hex') })));
    });
    const { server } = await router(site.url);
    const expected = createHash('sha256');
    const answer = new Promise<string>((resolve, reject) => {
      const req = http.request(`${server.proxyUrl}/upload`, {
        method: 'POST',
        headers: { 'content-length': String(10 * MB) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      const first = chunk(0);
      expected.update(first);
      req.write(first);
      void firstBytes.promise.then(async () => {
        // Only now, with 9 MB still unsent, does the client send the rest.
        for (let i = 1; i < 10; i++) {
          const next = chunk(i);
          expected.update(next);
          if (!req.write(next)) await new Promise((resolve) => req.once('drain', resolve));
        }
        req.end();
      }, reject);
    });
    const body = JSON.parse(await answer) as { total: number; sha256: string };
    expect(body.total).toBe(10 * MB);
    expect(body.sha256).toBe(expected.digest('hex'));
  });

  it('streams a 10 MB response body: the client sees the first bytes before the upstream has sent the rest', async () => {
    const clientFirst = signal('the client to see the first bytes');
    const site = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(10 * MB) });
      res.write(chunk(0));
      void clientFirst.promise.then(async () => {
        for (let i = 1; i < 10; i++) {
          if (!res.write(chunk(i))) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
      });
    });
    const { server } = await router(site.url);
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get(`${server.proxyUrl}/download`, (res) => {
          let total = 0;
          res.on('data', (c: Buffer) => {
            if (total === 0) clientFirst.resolve();
            total += c.length;
          });
          res.on('end', () => resolve(total));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(received).toBe(10 * MB);
  });

  it('passes WebSocket upgrades through, both ways, with forwarding headers', async () => {
    const site = await upstream((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server: site.server });
    let forwardedFor: string | undefined;
    wss.on('connection', (socket, req) => {
      forwardedFor = req.headers['x-forwarded-for'] as string | undefined;
      socket.on('message', (data, binary) => socket.send(binary ? data : `source:${String(data)}`, { binary }));
    });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const { server, router: adapter } = await router(site.url);
    const ws = new WebSocket(`${server.proxyUrl.replace('http:', 'ws:')}/chat`);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const next = (): Promise<{ data: Buffer; binary: boolean }> =>
      new Promise((resolve) => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
    const text = next();
    ws.send('hello');
    expect(String((await text).data)).toBe('source:hello');
    const big = Buffer.alloc(256 * 1024, 7);
    const echoed = next();
    ws.send(big, { binary: true });
    expect((await echoed).data.equals(big)).toBe(true);
    expect(forwardedFor).toBe('127.0.0.1');
    const stats = (await adapter.snapshot()).stats.sites.source?.writes;
    expect(stats).toMatchObject({ requests: 1, errors: 0, inFlight: 0 });
  });

  it('answers an upgrade with 502 when no site can be reached', async () => {
    const site = await upstream((_req, res) => res.end('plain'));
    const { server } = await router(site.url);
    await new Promise<void>((resolve) => {
      site.server.closeAllConnections();
      site.server.close(() => resolve());
    });
    const ws = new WebSocket(`${server.proxyUrl.replace('http:', 'ws:')}/chat`);
    cleanups.push(() => ws.terminate());
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(502);
  });
});
