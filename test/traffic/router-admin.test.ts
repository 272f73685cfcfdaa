import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { startRouterServer, type RouterServer } from '../../src/traffic/builtin/server.js';
import { startSite, type TestSite } from './support/sites.js';

const TOKEN = 'router-admin-token-5f1c2a9e7b';
let server: RouterServer;
let source: TestSite;
let target: TestSite;
const logLines: string[] = [];

beforeAll(async () => {
  source = await startSite('source');
  target = await startSite('target');
  server = await startRouterServer(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      adminToken: TOKEN,
      sites: { source: source.url, target: target.url },
    },
    {
      logger: createLogger({
        format: 'json',
        level: 'debug',
        redactor: createRedactor(),
        write: (line) => logLines.push(line),
      }),
    },
  );
});
afterAll(async () => {
  await server.close(1000);
  await source.close();
  await target.close();
});

async function admin(method: string, path: string, body?: string, token: string | null = TOKEN) {
  const response = await request(`${server.adminUrl}${path}`, {
    method: method as 'GET',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body,
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

describe('the admin API', () => {
  it('refuses requests without the bearer token or with a wrong one (401), and never logs either', async () => {
    const none = await admin('GET', '/v1/state', undefined, null);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await admin('PUT', '/v1/routes', '{"reads":{"source":0,"target":1}}', 'not-the-token-at-all');
    expect(wrong.status).toBe(401);
    expect((await admin('GET', '/metrics', undefined, `${TOKEN}x`)).status).toBe(401);
    expect((await admin('GET', '/v1/state')).json).toMatchObject({ routes: { reads: { source: 1, target: 0 } } });
    expect((await admin('GET', '/healthz', undefined, null)).status).toBe(200);
    const logs = logLines.join('');
    expect(logs).toContain('missing or wrong bearer token');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain('not-the-token-at-all');
  });

  it('gives the state in the documented shape', async () => {
    const state = await admin('GET', '/v1/state');
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({
      routes: { reads: { source: 1, target: 0 }, writes: { source: 1, target: 0 } },
      hold: { active: false, queued: 0 },
      lag: { target: null },
    });
  });

  it.each([
    ['weights that do not sum to 1', '{"reads":{"source":0.5,"target":0.4}}', 'reads: weights must sum to 1, got 0.9'],
    ['a negative weight', '{"writes":{"source":1.5,"target":-0.5}}', 'writes.target: weight -0.5 is negative'],
    ['an unknown site', '{"reads":{"source":0.5,"mars":0.5}}', 'reads.mars: unknown site; known sites: source, target'],
    ['bad JSON', '{"reads":', 'the request body is not valid JSON'],
    ['a weight that is not a number', '{"reads":{"source":"1"}}', 'reads.source: must be a number'],
    ['an unknown field', '{"read":{"source":1}}', 'Unrecognized key'],
    ['an empty body', '', 'the request body is empty'],
  ])('answers 400 to %s with a precise message and changes nothing', async (_name, body, message) => {
    const before = await admin('GET', '/v1/state');
    const answer = await admin('PUT', '/v1/routes', body);
    expect(answer.status).toBe(400);
    expect((answer.json?.error as { message: string }).message).toContain(message);
    expect((await admin('GET', '/v1/state')).json).toEqual(before.json);
  });

  it('accepts a weight of 0.005, reports lag, holds and releases, and refuses bad hold and lag bodies', async () => {
    const routes = await admin('PUT', '/v1/routes', '{"reads":{"source":0.995,"target":0.005}}');
    expect(routes.status).toBe(200);
    expect(routes.json).toMatchObject({ routes: { reads: { source: 0.995, target: 0.005 } }, changed: ['reads'] });
    expect((await admin('PUT', '/v1/lag', '{"target":120}')).json).toMatchObject({ lag: { target: 120 } });
    expect((await admin('PUT', '/v1/lag', '{"venus":1}')).status).toBe(400);
    expect((await admin('PUT', '/v1/lag', '{"target":-1}')).status).toBe(400);
    expect((await admin('POST', '/v1/hold', '{"classes":[],"maxHoldMs":100}')).status).toBe(400);
    expect((await admin('POST', '/v1/hold', '{"classes":["writes"],"maxHoldMs":999999}')).status).toBe(400);
    expect((await admin('GET', '/v1/state')).json).toMatchObject({ hold: { active: false }, lag: { target: 120 } });
    const hold = await admin('POST', '/v1/hold', '{"classes":["writes"],"maxHoldMs":5000}');
    expect(hold.status).toBe(200);
    expect((await admin('GET', '/v1/state')).json).toMatchObject({ hold: { active: true, queued: 0 } });
    expect((await admin('POST', '/v1/release')).json).toMatchObject({ wasActive: true, released: 0 });
    expect((await admin('DELETE', '/v1/routes')).status).toBe(405);
    expect((await admin('GET', '/v1/nothing')).status).toBe(404);
    await admin('PUT', '/v1/routes', '{"reads":{"source":1}}');
  });

  it('gives statistics per site and class, and Prometheus metrics from its own registry', async () => {
    const proxy = server.proxyUrl;
    for (let i = 0; i < 5; i++) await (await request(`${proxy}/r`)).body.text();
    await (await request(`${proxy}/w`, { method: 'POST', body: 'x' })).body.text();
    const stats = await admin('GET', '/v1/stats');
    expect(stats.json).toMatchObject({
      sites: {
        source: {
          reads: { requests: 5, errors: 0 },
          writes: { requests: 1, errors: 0 },
        },
        target: { reads: { requests: 0, errors: 0, p50Ms: null, p99Ms: null } },
      },
      held: 0,
    });
    const reads = (stats.json?.sites as Record<string, Record<string, { p50Ms: number; p99Ms: number }>>).source?.reads;
    expect(reads?.p50Ms).toBeGreaterThan(0);
    expect(reads?.p99Ms).toBeGreaterThanOrEqual(reads?.p50Ms ?? 0);
    const metrics = await admin('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('handoff_router_requests_total{site="source",class="reads"} 5');
    expect(metrics.text).toContain('handoff_router_weight{site="target",class="reads"} 0');
    expect(metrics.text).toMatch(/handoff_router_latency_seconds\{site="source",class="reads",quantile="0.99"\} \d/);
    expect(metrics.text).not.toContain('process_cpu'); // not the global default registry
  });
});
