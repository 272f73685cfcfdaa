import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRouterFixture, type RouterFixture } from './support/sites.js';

let fixture: RouterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Polls `check` until it is true; fails after `timeoutMs` (synchronisation, not a sleep). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Opens a raw connection and pipelines `bodies` as POSTs on it; resolves with the raw responses. */
function pipeline(port: number, bodies: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const requests = bodies.map(
        (body, i) =>
          `POST /orders HTTP/1.1\r\nHost: shop\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${i === bodies.length - 1 ? 'Connection: close\r\n' : ''}\r\n${body}`,
      );
      socket.write(requests.join(''));
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const portOf = (f: RouterFixture): number => Number(new URL(f.server.proxyUrl).port);

describe('hold and release', () => {
  it('sends the released queue on in arrival order, a few at a time and more as they are answered, and answers the release once all are answered', async () => {
    // The release's slot and spread timers out of reach: on a loaded machine a stall past their 100 ms
    // sent the rest of the queue before the site's first answer (hold-queue.test.ts covers them).
    fixture = await startRouterFixture({ maxReadLagMs: null, releaseConcurrency: 3 }, undefined, {
      hold: { slotMs: 60_000, spreadMs: 60_000 },
    });
    const f = fixture;
    // The target answers each write 30 ms after it arrives, and counts how many it holds at once and
    // how many arrived before its first answer.
    let holding = 0;
    let most = 0;
    let answeredOne = false;
    let beforeFirstAnswer = 0;
    (f.sites.target as NonNullable<typeof f.sites.target>).handler = (_req, res) => {
      holding++;
      most = Math.max(most, holding);
      if (!answeredOne) beforeFirstAnswer++;
      setTimeout(() => {
        answeredOne = true;
        holding--;
        res.writeHead(200, { 'x-site': 'target' });
        res.end('target');
      }, 30);
    };
    await f.router.hold({ classes: ['writes'], maxHoldMs: 20_000 });
    const answered: number[] = [];
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < 10; i++) {
      sends.push(f.send('POST', '/orders', { body: `w-${i}` }).then((r) => answered.push(r.status)));
      await waitFor(`${i + 1} queued`, async () => (await f.router.snapshot()).hold.queued === i + 1);
    }
    await f.router.setRoutes({ writes: { source: 0, target: 1 } });
    const released = await f.router.release();
    expect(released).toMatchObject({ wasActive: true, released: 10, drain: { drained: true, inFlight: 0 } });
    // The release answered after the site had answered every released request (the router's side;
    // the clients read their answers a moment later).
    // In arrival order, three at first: the first three first, and none more than five places ahead
    // of its turn (requests sent together may reach the site in either order); then two more for
    // each answered, so the window grew past three.
    const seen = f.sites.target?.seen.map((r) => r.body) ?? [];
    expect([...seen].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `w-${i}`));
    expect(seen.slice(0, 3).sort()).toEqual(['w-0', 'w-1', 'w-2']);
    for (let i = 0; i < 10; i++) expect(seen.indexOf(`w-${i}`)).toBeGreaterThanOrEqual(i - 5);
    expect(beforeFirstAnswer).toBe(3);
    expect(most).toBeGreaterThan(3);
    expect(holding).toBe(0);
    await Promise.all(sends);
    expect(answered).toEqual(Array.from({ length: 10 }, () => 200));
  });

  it('queues writes during a hold, loses none, keeps each connection in order, and releases to the new routes', async () => {
    fixture = await startRouterFixture({ maxReadLagMs: null });
    const f = fixture;
    await f.router.hold({ classes: ['writes'], maxHoldMs: 20_000 });
    const connections = [0, 1, 2].map((c) =>
      pipeline(
        portOf(f),
        [0, 1, 2, 3, 4].map((j) => `c${c}-${j}`),
      ),
    );
    const singles = Array.from({ length: 10 }, (_, i) => f.send('POST', '/orders', { body: `s-${i}` }));
    // One request per pipelining connection waits in the queue (the rest wait behind it), plus the singles.
    await waitFor('13 queued requests', async () => (await f.router.snapshot()).hold.queued === 13);
    // Reads are not held.
    expect((await f.send('GET', '/orders/1')).body).toBe('source');
    const allSeen = (): number =>
      Object.values(f.sites).reduce((n, s) => n + s.seen.filter((r) => r.method === 'POST').length, 0);
    expect(allSeen()).toBe(0);

    await f.router.setRoutes({ writes: { source: 0, target: 1 } });
    const released = await f.router.release();
    expect(released).toMatchObject({ wasActive: true, released: 13 });
    expect(released.pauseMs).toBeGreaterThan(0);

    const raw = await Promise.all(connections);
    const answers = await Promise.all(singles);
    expect(answers.every((a) => a.status === 200 && a.body === 'target')).toBe(true);
    for (const text of raw) expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(5);
    const target = f.sites.target?.seen.filter((r) => r.method === 'POST').map((r) => r.body) ?? [];
    expect(target).toHaveLength(25);
    for (const c of [0, 1, 2]) {
      expect(target.filter((b) => b.startsWith(`c${c}-`))).toEqual([0, 1, 2, 3, 4].map((j) => `c${c}-${j}`));
    }
    expect(f.sites.source?.seen.filter((r) => r.method === 'POST')).toHaveLength(0);
    const event = f.events.find((e) => e.type === 'router-released');
    expect(event?.data).toMatchObject({ reason: 'request', released: 13 });
    expect((await f.router.snapshot()).stats.held).toBe(13);
    // Releasing again is harmless and says so.
    expect(await f.router.release()).toMatchObject({
      wasActive: false,
      released: 0,
      last: { reason: 'request', released: 13 },
    });
  });

  it('releases by itself when the hold reaches maxHoldMs, and says so in an event', async () => {
    fixture = await startRouterFixture();
    await fixture.router.hold({ classes: ['writes', 'reads'], maxHoldMs: 300 });
    const started = Date.now();
    const answer = await fixture.send('POST', '/orders', { body: 'late' });
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const snapshot = await fixture.router.snapshot();
    expect(snapshot.hold.active).toBe(false);
    expect(snapshot.hold.lastRelease).toMatchObject({ reason: 'timeout', released: 1 });
    const event = fixture.events.find((e) => e.type === 'router-released');
    expect(event?.data).toMatchObject({ reason: 'timeout', released: 1 });
  });

  it('answers 503 with Retry-After when the queue is full, never hangs', async () => {
    fixture = await startRouterFixture();
    const f = fixture;
    await f.router.hold({ classes: ['writes'], maxHoldMs: 5000, maxQueued: 2 });
    const first = [f.send('POST', '/a', { body: '1' }), f.send('POST', '/a', { body: '2' })];
    await waitFor('2 queued', async () => (await f.router.snapshot()).hold.queued === 2);
    const refused = await f.send('POST', '/a', { body: '3' });
    expect(refused.status).toBe(503);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    await f.router.release();
    expect((await Promise.all(first)).map((a) => a.status)).toEqual([200, 200]);
    const snapshot = await f.router.snapshot();
    expect(snapshot.stats.rejected).toBe(1);
    expect(f.events.some((e) => e.type === 'router-queue-full')).toBe(true);
    expect(f.sites.source?.seen.map((r) => r.body).sort()).toEqual(['1', '2']);
  });

  it('forgets a held request whose client went away, and never sends it upstream', async () => {
    fixture = await startRouterFixture();
    const f = fixture;
    await f.router.hold({ classes: ['writes'], maxHoldMs: 10_000 });
    const socket = net.connect(portOf(f), '127.0.0.1', () => {
      socket.write('POST /gone HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\n\r\nbody');
    });
    socket.on('error', () => undefined);
    await waitFor('the request held', async () => (await f.router.snapshot()).hold.queued === 1);
    socket.destroy();
    await waitFor('the queue empty', async () => (await f.router.snapshot()).hold.queued === 0);
    const released = await f.router.release();
    expect(released.released).toBe(0);
    expect(f.sites.source?.seen).toHaveLength(0);
  });

  it('counts a released request whose client left while it waited for a slot as answered, and never sends it', async () => {
    // The slot's timer out of reach, so only the first request's answer gives the next its turn.
    fixture = await startRouterFixture({ releaseConcurrency: 1 }, undefined, {
      hold: { slotMs: 60_000, spreadMs: 60_000 },
    });
    const f = fixture;
    const source = f.sites.source as NonNullable<typeof f.sites.source>;
    let finish: () => void = () => undefined;
    source.handler = (_req, res) => {
      finish = () => res.end('source');
    };
    await f.router.hold({ classes: ['writes'], maxHoldMs: 10_000 });
    const first = f.send('POST', '/first', { body: 'a' });
    await waitFor('the first request held', async () => (await f.router.snapshot()).hold.queued === 1);
    const socket = net.connect(portOf(f), '127.0.0.1', () => {
      socket.write('POST /gone HTTP/1.1\r\nHost: shop\r\nContent-Length: 4\r\n\r\nbody');
    });
    socket.on('error', () => undefined);
    await waitFor('both held', async () => (await f.router.snapshot()).hold.queued === 2);
    const released = f.router.release();
    await waitFor('the first sent on', () => source.seen.length === 1);
    socket.destroy(); // waits for the only slot, then leaves
    await new Promise((resolve) => setTimeout(resolve, 20));
    finish();
    expect((await released).drain).toMatchObject({ drained: true, inFlight: 0 });
    expect((await first).status).toBe(200);
    expect(source.seen.map((r) => r.url)).toEqual(['/first']);
  });

  it('holds WebSocket upgrades with writes and lets them through on release', async () => {
    fixture = await startRouterFixture();
    const f = fixture;
    await f.router.hold({ classes: ['writes'], maxHoldMs: 10_000 });
    const port = portOf(f);
    const answer = new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'GET /ws HTTP/1.1\r\nHost: shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    await waitFor('the upgrade held', async () => (await f.router.snapshot()).hold.queued === 1);
    expect(f.sites.source?.seen).toHaveLength(0);
    await f.router.release();
    // The site is a plain HTTP server without WebSocket support: what matters is that the
    // handshake reached it after the release and its answer came back through the tunnel.
    expect(await answer).toMatch(/^HTTP\/1\.1 \d{3}/);
  });

  it('waits, bounded, for in-flight writes to drain when holding and when switching routes', async () => {
    fixture = await startRouterFixture();
    const f = fixture;
    const source = f.sites.source;
    if (!source) throw new Error('no source');
    let finish: () => void = () => undefined;
    source.handler = (_req, res) => {
      finish = () => res.end('source');
    };
    const slow = f.send('POST', '/slow', { body: 'x' });
    await waitFor(
      'the write in flight',
      async () => (await f.router.snapshot()).stats.sites.source?.writes.inFlight === 1,
    );

    // A bounded drain that runs out says so.
    const short = await f.router.hold({ classes: ['writes'], maxHoldMs: 10_000, drainMs: 150 });
    expect(short.drain).toMatchObject({ drained: false, inFlight: 1 });

    // A drain that the request finishes within resolves as soon as it does.
    const holding = f.router.hold({ classes: ['writes'], maxHoldMs: 10_000, drainMs: 10_000 });
    let settled = false;
    void holding.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    finish();
    const result = await holding;
    expect(result.drain.drained).toBe(true);
    expect(result.drain.inFlight).toBe(0);
    expect((await slow).status).toBe(200);
    await f.router.release();

    // Switching writes waits for in-flight writes on the site that lost them.
    const slow2 = f.send('POST', '/slow', { body: 'y' });
    await waitFor(
      'the second write in flight',
      async () => (await f.router.snapshot()).stats.sites.source?.writes.inFlight === 1,
    );
    const switching = f.router.setRoutes({ writes: { source: 0, target: 1 } }, { drainMs: 10_000 });
    setTimeout(() => finish(), 50);
    const switched = await switching;
    expect(switched.changed).toEqual(['writes']);
    expect(switched.drain.drained).toBe(true);
    expect(switched.drain.waitedMs).toBeGreaterThanOrEqual(30);
    expect((await slow2).body).toBe('source');
    expect(f.events.filter((e) => e.type === 'router-drained').length).toBe(3);
  });
});
