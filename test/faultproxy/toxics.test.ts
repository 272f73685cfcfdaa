/**
 * Each toxic's effect on a real TCP connection through the fault proxy (127.0.0.1), measured
 * against the same connection without it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from '../../src/faultproxy/fault-proxy.js';
import {
  connect,
  delay,
  fastestRoundTrip,
  roundTrip,
  startEchoServer,
  startSendServer,
  startServer,
  waitUntil,
  type Recording,
  type TestServer,
} from './tcp.js';

let faults: FaultProxy;
const servers: TestServer[] = [];
const clients: Recording[] = [];

beforeAll(async () => {
  faults = await createFaultProxy();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  for (const proxy of faults.proxies()) await faults.removeProxy(proxy.name);
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await faults.close();
});

/** A proxy named `name` in front of `server`; returns its port. */
async function proxyTo(name: string, server: TestServer): Promise<number> {
  servers.push(server);
  const info = await faults.addProxy({ name, upstream: `127.0.0.1:${server.port}` });
  return Number(info.listen.split(':').pop());
}

async function client(port: number): Promise<Recording> {
  const recording = await connect(port);
  clients.push(recording);
  return recording;
}

describe('fault proxy toxics on a real connection', () => {
  it('passes data both ways unchanged when there is no toxic', async () => {
    const port = await proxyTo('plain', await startEchoServer());
    const c = await client(port);
    await roundTrip(c, 'hello');
    expect(c.text()).toBe('hello');
  });

  it('latency delays every chunk by latency ± jitter, on open connections too', async () => {
    const port = await proxyTo('lat', await startEchoServer());
    const c = await client(port);
    const baseline = await fastestRoundTrip(c, 'a');
    faults.addToxic('lat', { type: 'latency', attributes: { latency: 150, jitter: 20 } });
    const slowed = await roundTrip(c, 'b');
    faults.addToxic('lat', { type: 'latency', name: 'up', stream: 'upstream', attributes: { latency: 100 } });
    const both = await roundTrip(c, 'c');
    faults.removeToxic('lat', 'latency_downstream');
    faults.removeToxic('lat', 'up');
    const after = await fastestRoundTrip(c, 'd');
    // Without the toxics a trip is a few ms; with either one left it would be 100 ms or more.
    expect(baseline).toBeLessThan(60);
    expect(slowed).toBeGreaterThanOrEqual(129);
    expect(slowed).toBeLessThan(400);
    expect(both).toBeGreaterThanOrEqual(229);
    expect(after).toBeLessThan(60);
    expect(c.text()).toBe('aaabcddd');
  });

  it('bandwidth bounds throughput to rate KB/s', async () => {
    const payload = Buffer.alloc(200_000, 7);
    const fastPort = await proxyTo('fast', await startSendServer(payload));
    const fast = await client(fastPort);
    await waitUntil(() => fast.endedAt !== null, 5_000, 'the unthrottled transfer');
    const fastMs = (fast.endedAt ?? 0) - fast.startedAt;

    const port = await proxyTo('slow', await startSendServer(payload));
    faults.addToxic('slow', { type: 'bandwidth', attributes: { rate: 200 } });
    const slow = await client(port);
    await waitUntil(() => slow.endedAt !== null, 10_000, 'the throttled transfer');
    const slowMs = (slow.endedAt ?? 0) - slow.startedAt;
    const kbPerSecond = slow.bytes() / slowMs; // bytes per ms = KB/s
    expect(slow.bytes()).toBe(payload.length);
    expect(fastMs).toBeLessThan(500);
    expect(slowMs).toBeGreaterThanOrEqual(850);
    expect(kbPerSecond).toBeLessThanOrEqual(200 * 1.15);
  });

  it('slow_close delays the close by delay ms, not the data', async () => {
    const port = await proxyTo('sc', await startSendServer(Buffer.from('bye')));
    faults.addToxic('sc', { type: 'slow_close', attributes: { delay: 400 } });
    const c = await client(port);
    await waitUntil(() => c.endedAt !== null, 5_000, 'the end');
    const dataAt = c.chunks[0]?.at ?? Infinity;
    expect(c.text()).toBe('bye');
    expect(dataAt - c.startedAt).toBeLessThan(200);
    expect((c.endedAt ?? 0) - c.startedAt).toBeGreaterThanOrEqual(390);
  });

  it('timeout 0 stops the data and holds the connection until the toxic goes', async () => {
    const port = await proxyTo('hold', await startEchoServer());
    const c = await client(port);
    faults.addToxic('hold', { type: 'timeout', attributes: { timeout: 0 } });
    c.socket.write('lost');
    await delay(400);
    expect(c.bytes()).toBe(0);
    expect(c.endedAt).toBeNull();
    expect(faults.connectionCount('hold')).toBe(1);
    faults.removeToxic('hold', 'timeout_downstream');
    await roundTrip(c, 'back');
    // Toxiproxy drops what came while the toxic was in place.
    expect(c.text()).toBe('back');
  });

  it('timeout with a value stops the data and closes the connection after it', async () => {
    const port = await proxyTo('to', await startEchoServer());
    faults.addToxic('to', { type: 'timeout', stream: 'upstream', attributes: { timeout: 300 } });
    const c = await client(port);
    c.socket.write('never answered');
    await waitUntil(() => c.closedAt !== null || c.endedAt !== null, 5_000, 'the close');
    const closedAfter = (c.endedAt ?? c.closedAt ?? 0) - c.startedAt;
    expect(c.bytes()).toBe(0);
    expect(closedAfter).toBeGreaterThanOrEqual(280);
    expect(closedAfter).toBeLessThan(2_000);
  });

  it('reset_peer resets the connection: the client gets ECONNRESET', async () => {
    const port = await proxyTo('rst', await startEchoServer());
    faults.addToxic('rst', { type: 'reset_peer', attributes: { timeout: 100 } });
    const c = await client(port);
    c.socket.write('ping');
    await waitUntil(() => c.error !== null || c.closedAt !== null, 5_000, 'the reset');
    expect(c.error?.code).toBe('ECONNRESET');
    expect(c.bytes()).toBe(0);
    expect((c.closedAt ?? performance.now()) - c.startedAt).toBeGreaterThanOrEqual(90);
  });

  it('slicer splits one write into several chunks of about average_size, in order', async () => {
    const payload = Buffer.from(Array.from({ length: 1_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
    const wholePort = await proxyTo('whole', await startSendServer(payload));
    const whole = await client(wholePort);
    await waitUntil(() => whole.endedAt !== null, 5_000, 'the unsliced transfer');

    const port = await proxyTo('sliced', await startSendServer(payload));
    faults.addToxic('sliced', {
      type: 'slicer',
      attributes: { average_size: 100, size_variation: 20, delay: 20_000 },
    });
    const c = await client(port);
    await waitUntil(() => c.endedAt !== null, 5_000, 'the sliced transfer');
    expect(whole.chunks.length).toBe(1);
    expect(c.text()).toBe(payload.toString());
    expect(c.chunks.length).toBeGreaterThanOrEqual(6);
    for (const chunk of c.chunks) expect(chunk.data.length).toBeLessThanOrEqual(125);
  });

  it('limit_data passes exactly `bytes` bytes, then closes', async () => {
    const port = await proxyTo('limit', await startSendServer(Buffer.alloc(2_000, 1)));
    faults.addToxic('limit', { type: 'limit_data', attributes: { bytes: 500 } });
    const c = await client(port);
    await waitUntil(() => c.endedAt !== null || c.closedAt !== null, 5_000, 'the close');
    expect(c.bytes()).toBe(500);
  });

  it('toxicity 0 spares every connection; toxicity 1 affects every one', async () => {
    const port = await proxyTo('tox', await startEchoServer());
    faults.addToxic('tox', { type: 'latency', name: 'never', toxicity: 0, attributes: { latency: 300 } });
    const spared = await Promise.all([client(port), client(port), client(port)]);
    for (const c of spared) expect(await fastestRoundTrip(c, 'x')).toBeLessThan(250);
    faults.removeToxic('tox', 'never');
    faults.addToxic('tox', { type: 'latency', name: 'always', toxicity: 1, attributes: { latency: 300 } });
    const hit = await Promise.all([client(port), client(port), client(port)]);
    for (const c of hit) expect(await roundTrip(c, 'y')).toBeGreaterThanOrEqual(290);
  });

  it('a disabled proxy refuses connections and ends open ones; enabled again it serves', async () => {
    const port = await proxyTo('down', await startEchoServer());
    const open = await client(port);
    await roundTrip(open, 'up');
    await faults.setEnabled('down', false);
    await waitUntil(() => open.endedAt !== null || open.closedAt !== null, 5_000, 'the open connection to end');
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(faults.proxy('down').enabled).toBe(false);
    await faults.setEnabled('down', true);
    const again = await client(port);
    await roundTrip(again, 'again');
    expect(again.text()).toBe('again');
  });

  it('a reader that does not read holds the sender back (bounded buffers, no unbounded growth)', async () => {
    let written = 0;
    let stop = false;
    const server = await startServer((socket) => {
      const chunk = Buffer.alloc(64 * 1024, 3);
      const pump = (): void => {
        while (!stop && socket.writable) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    const port = await proxyTo('pressure', server);
    const c = await client(port);
    c.socket.pause();
    await delay(1_000);
    stop = true;
    // 1 MiB read-ahead, plus the kernel's and Node's socket buffers on both hops.
    expect(written).toBeLessThan(24 * 1024 * 1024);
    expect(written).toBeGreaterThan(0);
  });

  it('an upstream that refuses ends the client connection at once', async () => {
    const dead = await startEchoServer();
    const port = await proxyTo('dead', dead);
    await dead.close();
    servers.splice(servers.indexOf(dead), 1);
    const c = await client(port);
    await waitUntil(() => c.endedAt !== null || c.closedAt !== null, 5_000, 'the client connection to end');
    expect(c.bytes()).toBe(0);
    await waitUntil(() => faults.connectionCount('dead') === 0, 5_000, 'the proxy to forget the connection');
  });

  it('close() ends every connection and listener', async () => {
    const own = await createFaultProxy();
    const server = await startEchoServer();
    servers.push(server);
    const info = await own.addProxy({ name: 'p', upstream: `127.0.0.1:${server.port}` });
    const port = Number(info.listen.split(':').pop());
    const c = await client(port);
    await roundTrip(c, 'x');
    await own.close();
    await waitUntil(() => c.endedAt !== null || c.closedAt !== null, 5_000, 'the connection to close');
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(fetch(`${own.url}/version`)).rejects.toThrow();
  });
});
