/**
 * The HTTP fault shim and the HTTP fault over real HTTP: a service behind the shim; the shim passes
 * requests and streamed bodies on over kept-alive connections, answers 503 for exactly the share
 * set, adds the latency set, and clear (or the fault's clear) restores plain passing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { createHttpFaultShim, type RunningHttpFaultShim } from '../../../src/rehearsal/faults/http-shim.js';
import { httpInjector } from '../../../src/rehearsal/faults/http.js';
import { testFaultEnv } from './env.js';

let service: http.Server;
let serviceConnections = 0;
let serviceRequests = 0;
let shim: RunningHttpFaultShim;
const client = new http.Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  service = http.createServer((req, res) => {
    serviceRequests++;
    if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ok ${req.url}`);
  });
  service.on('connection', () => serviceConnections++);
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const port = (service.address() as AddressInfo).port;
  shim = await createHttpFaultShim({ upstream: `http://127.0.0.1:${port}`, host: '127.0.0.1' });
});
afterAll(async () => {
  client.destroy();
  await shim?.close();
  await new Promise<void>((resolve) => {
    service.closeAllConnections();
    service.close(() => resolve());
  });
});

function request(path: string, body?: Buffer): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${shim.url}${path}`,
      { method: body ? 'POST' : 'GET', agent: client, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function sequence(count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await request(`/n/${i}`)).status);
  return statuses;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function httpFault(fields: Record<string, unknown>) {
  const fault = rehearsalFault.parse({ kind: 'http', name: 'h', at: { stage: 'shift' }, ...fields });
  if (fault.kind !== 'http') throw new Error('not an http fault');
  return fault;
}

describe('HTTP fault shim', () => {
  it('passes requests and a streamed 4 MiB body on, over kept-alive connections', async () => {
    const before = serviceConnections;
    const body = Buffer.alloc(4 * 1024 * 1024, 7);
    body.write('start');
    const echoed = await request('/upload', body);
    expect(echoed.status).toBe(200);
    expect(echoed.body.equals(body)).toBe(true);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => request(`/p/${i}`)));
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `ok /p/${i}`));
    expect(serviceConnections - before).toBeLessThanOrEqual(9);
  });

  it('answers 503 for the share set (100 of 400 at 25 %, never two in a row) without reaching the service, and passes the rest', async () => {
    const stats = shim.stats();
    const reached = serviceRequests;
    shim.set({ errorRate: 0.25, latencyMs: 0 });
    const statuses = await sequence(400);
    shim.clear();
    expect(statuses.filter((s) => s === 503)).toHaveLength(100);
    expect(statuses.filter((s) => s === 200)).toHaveLength(300);
    expect(statuses.some((s, i) => s === 503 && statuses[i + 1] === 503)).toBe(false);
    expect(shim.stats().injectedErrors - stats.injectedErrors).toBe(100);
    expect(serviceRequests - reached).toBe(300);
    expect(await sequence(20)).toEqual(Array(20).fill(200));
  });

  it('a share of 3 % over 400 requests is within its bound (11 to 13; 12 expected)', async () => {
    shim.set({ errorRate: 0.03, latencyMs: 0 });
    const failed = (await sequence(400)).filter((s) => s === 503).length;
    shim.clear();
    expect(failed).toBeGreaterThanOrEqual(11);
    expect(failed).toBeLessThanOrEqual(13);
  });

  it('adds the latency set to every answer; clear takes it off', async () => {
    const times = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 7; i++) out.push((await request('/t')).ms);
      return out;
    };
    const before = median(await times());
    shim.set({ errorRate: 0, latencyMs: 150 });
    const slowed = median(await times());
    shim.clear();
    const after = median(await times());
    expect(slowed - before).toBeGreaterThanOrEqual(145);
    expect(slowed).toBeLessThan(1_000);
    expect(after).toBeLessThan(100);
  });

  it('a service that is down is a 502 from the shim, not a hang', async () => {
    const lonely = await createHttpFaultShim({ upstream: 'http://127.0.0.1:1' });
    try {
      const answer = await new Promise<number>((resolve, reject) =>
        http
          .get(`${lonely.url}/x`, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
      expect(answer).toBe(502);
      expect(lonely.stats().upstreamErrors).toBe(1);
    } finally {
      await lonely.close();
    }
  });
});

describe('http fault', () => {
  it('sets errors and latency on the site shim; clear (twice) restores plain passing', async () => {
    const env = testFaultEnv({ httpShim: { target: shim } });
    const active = await httpInjector.inject(httpFault({ errorRate: 0.5, latency: '100ms' }), env);
    expect(active.detail).toBe(
      `50 % of requests answered 503, 100 ms added to every answer at the target service (HTTP fault shim ${shim.url}); off at clear`,
    );
    const during = await Promise.all([request('/a'), request('/b'), request('/c'), request('/d')]);
    expect(during.filter((a) => a.status === 503)).toHaveLength(2);
    expect(Math.min(...during.map((a) => a.ms))).toBeGreaterThanOrEqual(95);
    await active.clear();
    await active.clear();
    expect(await sequence(10)).toEqual(Array(10).fill(200));
  });

  it('overlapping faults on one site combine; clearing one leaves the other', async () => {
    const env = testFaultEnv({ httpShim: { target: shim } });
    const errors = await httpInjector.inject(httpFault({ name: 'errors', errorRate: 1 }), env);
    const slow = await httpInjector.inject(httpFault({ name: 'slow', latency: '50ms' }), env);
    expect((await request('/x')).status).toBe(503);
    await errors.clear();
    const answer = await request('/y');
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThanOrEqual(45);
    await slow.clear();
    expect((await request('/z')).status).toBe(200);
  });

  it('a site without a shim is an InputError naming the site', async () => {
    const error = await httpInjector
      .inject(httpFault({ site: 'source', errorRate: 1 }), testFaultEnv())
      .catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('input.invalid');
    expect((error as Error).message).toMatch(/the source service has no HTTP fault shim/);
  });
});
