import { afterAll, describe, expect, it } from 'vitest';
import { checkSourceHealth } from '../../src/analysis/source-health.js';
import { startHangingServer, startHttpServer, unreachableUrl, type TestServer } from './http-server.js';

describe('source health before a rollback', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('is healthy when every probe answers as expected', async () => {
    const ok = await startHttpServer((_req, res) => res.end('ok'));
    servers.push(ok);
    const h = await checkSourceHealth({ endpoint: ok.url });
    expect(h.healthy).toBe(true);
    expect(h.reason).toMatch(/^GET \/healthz on the source answered 3 of 3 probes/);
  });

  it('is not healthy when the source answers 5xx, is down, or does not answer in time', async () => {
    let n = 0;
    const sick = await startHttpServer((_req, res) => {
      res.statusCode = n++ === 1 ? 503 : 200;
      res.end();
    });
    const hanging = await startHangingServer();
    servers.push(sick, hanging);
    const fivexx = await checkSourceHealth({ endpoint: sick.url });
    expect(fivexx).toMatchObject({
      healthy: false,
      reason: 'GET /healthz on the source failed 1 of 3 probes (HTTP 503, expected 200); not moving traffic onto it',
    });
    expect((await checkSourceHealth({ endpoint: await unreachableUrl(), probes: 1 })).healthy).toBe(false);
    const slow = await checkSourceHealth({ endpoint: hanging.url, probes: 1, timeoutMs: 300 });
    expect(slow.reason).toMatch(/no answer within 300 ms/);
  });
});
