/** The webhook provider against real HTTP servers on 127.0.0.1. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCheck } from '../../src/analysis/check-config.js';
import { evaluateCheck } from '../../src/analysis/check-evaluate.js';
import { createWebhookProvider } from '../../src/analysis/providers/webhook.js';
import { createRedactor } from '../../src/common/redact.js';
import {
  readBody,
  startHangingServer,
  startHttpServer,
  unreachableUrl,
  type TestServer,
} from '../analysis/http-server.js';
import { metricProviderContract } from './metric-provider.shared.js';

const secret = 'Bearer webhook-secret-token-123';
let hook: TestServer;
let hanging: TestServer;
let unreachable: string;
let answer: { status: number; body: string } = { status: 200, body: '{"decision":"pass"}' };
const received: Array<{ body: unknown; authorization: string | undefined }> = [];

async function setup(): Promise<void> {
  hook = await startHttpServer((req, res) => {
    void readBody(req).then((body) => {
      received.push({ body: JSON.parse(body) as unknown, authorization: req.headers.authorization });
      res.statusCode = answer.status;
      res.setHeader('content-type', 'application/json');
      res.end(answer.body);
    });
  });
  hanging = await startHangingServer();
  unreachable = await unreachableUrl();
}
async function teardown(): Promise<void> {
  await Promise.all([hook?.close(), hanging?.close()]);
}

metricProviderContract('webhook (real HTTP server)', {
  setup,
  teardown,
  healthy: () => createWebhookProvider({ url: `${hook.url}/confirm` }),
  unreachable: () =>
    createWebhookProvider(
      { url: `${unreachable}/confirm`, headers: { authorization: secret } },
      { redactor: createRedactor() },
    ),
  hanging: () => createWebhookProvider({ url: hanging.url, timeoutMs: 300 }),
  hangTimeoutMs: 300,
  secrets: [secret],
  omitted: { empty: 'a webhook answers with a decision, never with an empty result' },
});

describe('webhook provider: pass, fail, and what is neither', () => {
  beforeAll(setup);
  afterAll(teardown);

  async function decide(status: number, body: string) {
    answer = { status, body };
    const p = createWebhookProvider({
      url: `${hook.url}/confirm`,
      gate: 'shift-5',
      metadata: { weight: 5 },
      headers: { authorization: secret },
    });
    await p.start();
    const m = await p.measure({ sites: ['target'], windowMs: 1000 });
    await p.stop();
    return m;
  }

  it('sends the gate and metadata, and turns pass/fail into a check outcome with the reason', async () => {
    const check = resolveCheck({
      name: 'confirm',
      metric: 'webhook.decision',
      url: 'http://x',
      critical: false,
      dryRun: false,
      onNoData: 'hold',
      onError: 'hold',
    });
    const pass = await decide(200, '{"decision":"pass"}');
    expect(evaluateCheck(check, pass).outcome).toBe('Pass');
    expect(received.at(-1)).toEqual({
      body: { gate: 'shift-5', sites: ['target'], windowMs: 1000, metadata: { weight: 5 } },
      authorization: secret,
    });
    const fail = await decide(200, '{"decision":"fail","reason":"error budget burned"}');
    expect(evaluateCheck(check, fail)).toMatchObject({
      outcome: 'Fail',
      reason: 'target decision 0 is below min 1 (error budget burned)',
    });
  });

  it('is Error (hold), not Fail, on a non-2xx answer or a body without a decision', async () => {
    expect((await decide(503, '{}')).sites.target).toMatchObject({
      status: 'error',
      retryable: true,
      reason: expect.stringMatching(/answered HTTP 503/),
    });
    expect((await decide(200, '{"ok":true}')).sites.target).toMatchObject({
      status: 'error',
      retryable: false,
      reason: expect.stringMatching(/without \{"decision"/),
    });
    expect((await decide(200, 'yes')).sites.target).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/not JSON/),
    });
  });
});
