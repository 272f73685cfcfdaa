import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShadowStatus } from '../../src/shadow/control.js';
import { createBuiltinRouter, type BuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Seen {
  method: string;
  url: string;
  shadow: string | undefined;
}

async function site(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{
  url: string;
  seen: Seen[];
}> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', shadow: req.headers['x-handoff-shadow'] as string });
    req.resume();
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function router(source: string, target: string): Promise<BuiltinRouter> {
  const built = await createBuiltinRouter({
    listen: { host: '127.0.0.1', port: 0 },
    sites: { source, target },
    stickyAfterWriteMs: 0,
  });
  cleanups.push(() => built.server.close(1000));
  return built;
}

async function get(url: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  const response = await request(url, { method: method as 'GET', body, headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Polls the shadow status until `done` holds (bounded). */
async function until(built: BuiltinRouter, done: (s: ShadowStatus) => boolean, ms = 10_000): Promise<ShadowStatus> {
  const shadow = built.router.shadow;
  if (shadow === undefined) throw new Error('no shadow control');
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await shadow.status();
    if (done(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`shadow status never reached the condition: ${JSON.stringify(status.counters)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('shadow reads in the built-in router', () => {
  it('copies matched GETs to the target with X-Handoff-Shadow: 1, answers from the source, never mirrors a POST', async () => {
    const source = await site((req, res) => json(res, { from: 'source', b: 1, a: [1, 2] }));
    const target = await site((req, res) => json(res, { a: [1.0, 2], b: 1, from: 'source' }));
    const built = await router(source.url, target.url);
    expect(built.router.capabilities.mirroring).toBe(true);
    await built.router.shadow?.start({ share: 1, headers: [], noiseShare: 0 });
    for (let i = 0; i < 10; i++) {
      const answer = await get(`${built.server.proxyUrl}/items/${i}`);
      expect(JSON.parse(answer.text)).toMatchObject({ from: 'source' });
      expect((await get(`${built.server.proxyUrl}/items/${i}`, 'POST', '{"x":1}')).status).toBe(200);
    }
    const status = await until(built, (s) => s.counters.compared === 10);
    expect(status.counters).toMatchObject({ mirrored: 10, compared: 10, same: 10, differences: 0 });
    expect(status.endpoints.map((e) => e.endpoint)).toEqual(['GET /items/:id']);
    expect(target.seen.every((s) => s.method === 'GET' && s.shadow === '1')).toBe(true);
    expect(target.seen).toHaveLength(10);
    expect(source.seen.filter((s) => s.method === 'POST')).toHaveLength(10);
    expect(source.seen.every((s) => s.shadow === undefined)).toBe(true); // no noise re-reads asked for
    const stopped = await built.router.shadow?.stop();
    expect(stopped?.active).toBe(false);
    await get(`${built.server.proxyUrl}/items/99`);
    expect(target.seen).toHaveLength(10);
  });

  it('counts a difference with the changed path and keeps redacted, truncated evidence', async () => {
    const source = await site((req, res) => json(res, { price: 10, token: 'source-secret-1', note: 'x'.repeat(500) }));
    const target = await site((req, res) => json(res, { price: 11, token: 'target-secret-2', note: 'x'.repeat(500) }));
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, evidenceBytes: 100, ignore: ['token'] });
    await get(`${built.server.proxyUrl}/orders/7?key=abc`);
    const status = await until(built, (s) => s.counters.compared === 1);
    expect(status.counters.differences).toBe(1);
    expect(status.diffRate).toBe(1);
    expect(status.endpoints[0]).toMatchObject({ endpoint: 'GET /orders/:id', differences: 1, paths: { '$.price': 1 } });
    const record = status.evidence[0];
    expect(record).toMatchObject({ method: 'GET', path: '/orders/7?…', sourceStatus: 200, targetStatus: 200 });
    expect(record?.paths).toEqual(['$.price']);
    expect(record?.source).not.toContain('source-secret-1');
    expect(record?.source).toContain('[REDACTED]');
    expect(record?.source).toMatch(/truncated \d+ bytes/);
    expect((await built.router.shadow?.status(record?.seq))?.evidence).toEqual([]);
  });

  it('counts a difference also seen between two source answers as noise, not as a difference', async () => {
    let n = 0;
    const source = await site((req, res) => json(res, { id: 1, nonce: n++ }));
    const target = await site((req, res) => json(res, { id: 1, nonce: -1 }));
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, noiseShare: 1 });
    for (let i = 0; i < 5; i++) await get(`${built.server.proxyUrl}/things/1`);
    const status = await until(built, (s) => s.counters.compared === 5);
    expect(status.counters).toMatchObject({ noise: 5, differences: 0, noiseSamples: 5, noiseDiffering: 5 });
    expect(status.noisy['GET /things/:id']).toEqual(['$.nonce']);
    expect(status.diffRate).toBe(0);
  });

  it('a request answered before the target caught up is stale, not counted, and read from the target once it has', async () => {
    let caughtUp = false;
    const source = await site((req, res) => json(res, { balance: 20 }));
    const target = await site((req, res) => json(res, { balance: caughtUp ? 20 : 10 }));
    const built = await router(source.url, target.url);
    const shadow = built.router.shadow;
    await shadow?.start({ share: 1, lagAware: true, staleWaitMs: 10_000, noiseShare: 0 });
    await shadow?.watermark(Date.now() - 60_000); // the target is a minute behind
    await get(`${built.server.proxyUrl}/accounts/1`);
    let status = await until(built, (s) => s.pendingStale === 1);
    expect(status.counters).toMatchObject({ compared: 0, differences: 0 });
    expect(target.seen).toHaveLength(0); // not read while it cannot be current
    caughtUp = true;
    await shadow?.watermark(Date.now());
    status = await until(built, (s) => s.counters.compared === 1);
    expect(status.counters).toMatchObject({ rereads: 1, compared: 1, same: 1, differences: 0, stale: 0 });
    expect(target.seen).toHaveLength(1);
  });

  it('with lag awareness, a field the source changed meanwhile is noise; a field it did not change counts', async () => {
    let version = 1;
    const source = await site((req, res) => json(res, { owner: 'ann', version: version++ }));
    const target = await site((req, res) => json(res, { owner: req.url === '/bad' ? 'bob' : 'ann', version }));
    const built = await router(source.url, target.url);
    const shadow = built.router.shadow;
    await shadow?.start({ share: 1, lagAware: true, noiseShare: 0 });
    await shadow?.watermark(Date.now() + 60_000);
    await get(`${built.server.proxyUrl}/good`);
    let status = await until(built, (s) => s.counters.compared === 1);
    expect(status.counters).toMatchObject({ noise: 1, differences: 0 });
    await get(`${built.server.proxyUrl}/bad`);
    status = await until(built, (s) => s.counters.compared === 2);
    expect(status.counters).toMatchObject({ noise: 1, differences: 1 });
    expect(status.evidence[0]?.paths).toEqual(['$.owner', '$.version']);
    expect(status.endpoints.find((e) => e.endpoint === 'GET /bad')?.paths).toEqual({ '$.owner': 1 }); // the version changed on the source meanwhile
  });

  it('a copy the target does not answer is dropped as an error, not counted as a difference; a 5xx it answers is', async () => {
    const source = await site((req, res) => json(res, { id: 1 }));
    const target = await site((req, res) => {
      if (req.url === '/reset')
        req.socket.destroy(); // no answer at all
      else {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unavailable' }));
      }
    });
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, noiseShare: 0 });
    for (let i = 0; i < 3; i++) expect((await get(`${built.server.proxyUrl}/reset`)).status).toBe(200);
    let status = await until(built, (s) => s.counters.dropped.error === 3);
    expect(status.counters).toMatchObject({ mirrored: 3, compared: 0, differences: 0 });
    await get(`${built.server.proxyUrl}/busy`);
    status = await until(built, (s) => s.counters.compared === 1);
    expect(status.counters).toMatchObject({ differences: 1, dropped: { error: 3 } });
    expect(status.evidence[0]).toMatchObject({ sourceStatus: 200, targetStatus: 503 });
    expect(status.evidence[0]?.paths).toContain('status');
  });

  it('with lag awareness, a record the target saw between two source reads is noise: a balance that moved and came back', async () => {
    let reads = 0;
    const source = await site((req, res) => json(res, { balance: '100', updated_at: `t${2 * reads++}` }));
    const target = await site((req, res) => json(res, { balance: '95', updated_at: 't1' }));
    const built = await router(source.url, target.url);
    const shadow = built.router.shadow;
    await shadow?.start({ share: 1, lagAware: true, noiseShare: 0 });
    await shadow?.watermark(Date.now() + 60_000);
    await get(`${built.server.proxyUrl}/accounts/3`);
    const status = await until(built, (s) => s.counters.compared === 1);
    expect(reads).toBe(2); // the client's read, then the confirming one
    expect(status.counters).toMatchObject({ noise: 1, differences: 0 });
  });

  it('with lag awareness, a difference the source cannot be read again to confirm is dropped, not counted', async () => {
    let reads = 0;
    const source = await site((req, res) => {
      if (reads++ === 0) json(res, { v: 1 });
      else req.socket.destroy();
    });
    const target = await site((req, res) => json(res, { v: 2 }));
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, lagAware: true, noiseShare: 0 });
    await built.router.shadow?.watermark(Date.now() + 60_000);
    await get(`${built.server.proxyUrl}/v`);
    const status = await until(built, (s) => s.counters.dropped.error === 1);
    expect(status.counters).toMatchObject({ compared: 0, differences: 0 });
  });

  it('a stale difference the watermark never clears stays stale when the shadow stops', async () => {
    const source = await site((req, res) => json(res, { v: 2 }));
    const target = await site((req, res) => json(res, { v: 1 }));
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, lagAware: true });
    await get(`${built.server.proxyUrl}/v`);
    await until(built, (s) => s.pendingStale === 1);
    const stopped = await built.router.shadow?.stop();
    expect(stopped?.counters).toMatchObject({ stale: 1, compared: 0, differences: 0 });
  });

  it('full queues drop copies without delaying clients', async () => {
    const hanging: http.ServerResponse[] = [];
    const source = await site((req, res) => json(res, { ok: true }));
    const target = await site((req, res) => void hanging.push(res)); // never answers while the test runs
    cleanups.push(() => hanging.forEach((res) => res.destroy()));
    const built = await router(source.url, target.url);
    await built.router.shadow?.start({ share: 1, concurrency: 2, timeoutMs: 30_000 });
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => get(`${built.server.proxyUrl}/slow`)));
    const elapsed = performance.now() - started;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // 40 clients answered while the target has not answered a single copy.
    expect(hanging.length).toBeLessThanOrEqual(2);
    expect(elapsed).toBeLessThan(5000);
    const status = await built.router.shadow?.status();
    expect(status?.inFlight).toBe(2);
    expect(status?.counters.dropped.concurrency).toBe(38);
    expect(status?.counters.compared).toBe(0);
  });

  it('drops a copy whose answer is over the body limit and refuses a write method in the settings', async () => {
    const source = await site((req, res) => json(res, { blob: 'y'.repeat(5000) }));
    const target = await site((req, res) => json(res, { blob: 'y'.repeat(5000) }));
    const built = await router(source.url, target.url);
    await expect(built.router.shadow?.start({ share: 1, methods: ['POST' as 'GET'] })).rejects.toThrow(
      /only GET, HEAD and OPTIONS can be mirrored/,
    );
    await built.router.shadow?.start({ share: 1, bodyBytes: 1000 });
    expect((await get(`${built.server.proxyUrl}/big`)).text.length).toBeGreaterThan(5000);
    const status = await until(built, (s) => s.counters.dropped.body === 1);
    expect(status.counters.mirrored).toBe(0);
    expect(target.seen).toHaveLength(0);
  });
});
