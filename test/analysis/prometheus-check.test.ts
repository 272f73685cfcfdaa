/**
 * End to end: a real Prometheus scrapes the real built-in router's /metrics (bearer token) while
 * requests flow through the router to two real upstream servers; a gate with a PromQL check
 * (templated per site) passes, then fails once the target starts answering 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { resolveCheck } from '../../src/analysis/check-config.js';
import { createGate } from '../../src/analysis/gate.js';
import type { GateDecision } from '../../src/analysis/gate-decision.js';
import { createPrometheusProvider } from '../../src/analysis/providers/prometheus.js';
import { createEventBus, type HandoffEvent } from '../../src/common/events.js';
import { sleep } from '../../src/common/net.js';
import { createBuiltinRouter, type BuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';
import { startHttpServer, type TestServer } from './http-server.js';
import { startTestPrometheus, type TestPrometheus } from './prometheus.js';

const token = 'router-admin-token-for-prometheus';
let source: TestServer;
let target: TestServer;
let builtin: BuiltinRouter;
let prometheus: TestPrometheus;
let targetFailing = false;
let loadStop = false;
let load: Promise<void> | undefined;

const errorRatio =
  'sum(rate(handoff_router_errors_total{site="{{site}}",class="reads"}[{{window}}])) / sum(rate(handoff_router_requests_total{site="{{site}}",class="reads"}[{{window}}]))';

beforeAll(async () => {
  source = await startHttpServer((_req, res) => res.end('ok'));
  target = await startHttpServer((_req, res) => {
    res.statusCode = targetFailing ? 503 : 200;
    res.end(targetFailing ? 'failing' : 'ok');
  });
  builtin = await createBuiltinRouter({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    adminToken: token,
    sites: { source: source.url, target: target.url },
    maxReadLagMs: null,
  });
  await builtin.router.setRoutes({ reads: { source: 0.5, target: 0.5 } });
  const admin = builtin.server.admin!;
  prometheus = await startTestPrometheus([{ address: `${admin.host}:${admin.port}`, bearerToken: token }]);
  // Bounded load: at most 5 minutes or 30 000 requests, whichever first; stopped in afterAll.
  const until = Date.now() + 300_000;
  load = (async () => {
    for (let i = 0; i < 30_000 && !loadStop && Date.now() < until; i++) {
      try {
        const res = await request(`${builtin.server.proxyUrl}/r/${i}`, { headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.text();
      } catch {
        // counted by the router as an error; keep going
      }
      await sleep(10);
    }
  })();
  await prometheus.waitForSeries('handoff_router_requests_total{site="target",class="reads"}');
});

afterAll(async () => {
  loadStop = true;
  await load;
  await prometheus?.close();
  await builtin?.server.close(1000);
  await Promise.all([source?.close(), target?.close()]);
});

async function tickUntil(
  gate: ReturnType<typeof createGate>,
  want: GateDecision['decision'],
  timeoutMs: number,
): Promise<GateDecision> {
  const end = Date.now() + timeoutMs;
  let last = gate.decision();
  while (Date.now() < end) {
    last = await gate.tick();
    if (last.decision === want) return last;
    await sleep(Math.max(50, gate.nextDueAt() - Date.now()));
  }
  throw new Error(`gate did not reach ${want} within ${timeoutMs} ms; last: ${JSON.stringify(last.reasons)}`);
}

describe('a PromQL check against a real Prometheus', () => {
  it('passes while the target is healthy, then rolls back after the target answers 5xx', async () => {
    const events: HandoffEvent[] = [];
    const bus = createEventBus();
    bus.on((e) => events.push(e));
    const check = resolveCheck({
      name: 'error-ratio',
      metric: 'prometheus.query',
      query: errorRatio,
      max: 0.05,
      interval: '1s',
      window: '5s',
      consecutiveSuccesses: 2,
      failureLimit: 1,
      critical: false,
      dryRun: false,
      onNoData: 'hold',
      onError: 'hold',
    });
    const provider = createPrometheusProvider({ url: prometheus.url, query: errorRatio });
    const healthy = createGate({ name: 'shift-50', checks: [{ config: check, provider }], bakeMs: 0, events: bus });
    await healthy.start();
    const advanced = await tickUntil(healthy, 'advance', 30_000);
    expect(advanced.checks[0]).toMatchObject({ check: 'error-ratio', outcome: 'Pass', value: 0 });
    await healthy.stop();

    targetFailing = true;
    const failing = createGate({
      name: 'shift-50-again',
      checks: [{ config: check, provider: createPrometheusProvider({ url: prometheus.url, query: errorRatio }) }],
      bakeMs: 0,
      events: bus,
    });
    await failing.start();
    const rolledBack = await tickUntil(failing, 'rollback', 45_000);
    expect(rolledBack.reasons[0]).toMatch(
      /^check error-ratio failed: 2 failed measurements exceed failureLimit 1; last Fail: target query [\d.]+ is above max 0.05/,
    );
    expect(rolledBack.checks[0]?.value).toBeGreaterThan(0.05);
    await failing.stop();
    const decided = events
      .filter((e) => e.type === 'gate-decided')
      .map((e) => `${(e.data as { gate: string }).gate}:${(e.data as { outcome: string }).outcome}`);
    expect(decided).toContain('shift-50:advance');
    expect(decided.at(-1)).toBe('shift-50-again:rollback');
  });

  it('turns PromQL answers into values, NoData and Errors', async () => {
    const measure = async (query: string) => {
      const p = createPrometheusProvider({ url: prometheus.url, query });
      await p.start();
      const m = await p.measure({ sites: ['target'], windowMs: 5000 });
      await p.stop();
      return m.sites.target;
    };
    expect(await measure('scalar(vector(42))')).toEqual({ status: 'ok', values: { query: 42 }, samples: 1 });
    expect(await measure('vector(0) / vector(0)')).toMatchObject({
      status: 'no-data',
      reason: expect.stringMatching(/returned NaN/),
    });
    expect(await measure('handoff_router_requests_total{class="reads"}')).toMatchObject({
      status: 'error',
      retryable: false,
      reason: expect.stringMatching(/returned \d+ series; aggregate it to one/),
    });
    expect(await measure('sum(rate(x[')).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/Prometheus refused the query "sum\(rate\(x\[": bad_data/),
    });
  });

  it('with Prometheus down, the step holds and escalates after its bound; nothing rolls back (runs last: stops Prometheus)', async () => {
    await prometheus.close();
    const check = resolveCheck({
      name: 'error-ratio',
      metric: 'prometheus.query',
      query: errorRatio,
      max: 0.05,
      interval: '500ms',
      escalateAfter: '2s',
      critical: true,
      dryRun: false,
      onNoData: 'hold',
      onError: 'hold',
    });
    const gate = createGate({
      name: 'shift-50-blind',
      checks: [
        {
          config: check,
          provider: createPrometheusProvider({ url: prometheus.url, query: errorRatio, timeoutMs: 1000 }),
        },
      ],
      bakeMs: 0,
    });
    await gate.start();
    // A rollback is sticky, so reaching escalate also shows no rollback came first.
    const escalated = await tickUntil(gate, 'escalate', 20_000);
    expect(escalated.checks[0]).toMatchObject({ outcome: 'Error', verdict: 'escalated', failures: 0 });
    expect(escalated.reasons[0]).toMatch(
      /^check error-ratio cannot judge: unable to judge for \d+ s \(escalateAfter 2 s\); last Error: measuring the target failed: Prometheus at http:\/\/127.0.0.1:\d+ did not answer/,
    );
    await gate.stop();
  });
});
