/**
 * Approval webhooks (`spec.approvals[].webhook`) in real runs, against real HTTP servers on
 * 127.0.0.1: the run POSTs `{ runId, plan, stage, role, approveCommand }` once when it reaches the
 * approval; a delivered call is not repeated after resume; a call that fails (HTTP 500, nothing
 * listening, no answer within the bound) is recorded and never fatal: `handoff approve` still works.
 */
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import type { HandoffEvent } from '../../src/common/events.js';
import type { RunExplanation } from '../../src/engine/explain.js';
import { resumeRun } from '../../src/engine/manage.js';
import { startRun } from '../../src/engine/start.js';
import { loadPlanFile } from '../../src/plan/load.js';
import {
  readBody,
  startHangingServer,
  startHttpServer,
  unreachableUrl,
  type TestServer,
} from '../analysis/http-server.js';
import {
  cli,
  engineEnvFor,
  gateRegistry,
  healthy,
  jsonOf,
  repeat,
  writeGatePlan,
  type GatePlan,
} from './explain-support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

/** A webhook receiver answering `status`; calls `onRequest` after answering. */
async function receiver(
  status: number,
  onRequest?: (request: Received) => void,
): Promise<{ server: TestServer; received: Received[] }> {
  const received: Received[] = [];
  const server = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    void readBody(req).then((text) => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(text) as unknown,
      };
      received.push(request);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
      onRequest?.(request);
    });
  });
  cleanups.push(() => server.close());
  return { server, received };
}

function plan(options: Parameters<typeof writeGatePlan>[0]): GatePlan {
  const p = writeGatePlan(options);
  cleanups.push(() => p.cleanup());
  return p;
}

const registry = gateRegistry({ series: () => repeat(healthy), skipShift: true });

function webhookEvents(events: HandoffEvent[]): Array<Record<string, unknown>> {
  return events.filter((e) => e.type === 'approval-webhook').map((e) => e.data as unknown as Record<string, unknown>);
}

/** Polls (bounded) until `n` webhook events were seen. */
async function eventsSeen(events: HandoffEvent[], n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (webhookEvents(events).length < n) {
    if (Date.now() > deadline)
      throw new Error(`only ${webhookEvents(events).length} of ${n} webhook events within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('approval webhooks', () => {
  it(
    'POSTs runId, plan, stage, role and the approve command once; the approval then lets the run finish; only the origin is recorded',
    { timeout: 120_000 },
    async () => {
      let approve: ((request: Received) => void) | undefined;
      const asked = new Promise<Received>((resolve) => (approve = resolve));
      const { server, received } = await receiver(200, (request) => approve?.(request));
      const hook = `${server.url}/hooks/T01/SECRET-TOKEN-123?key=abc`;
      const fx = plan({
        name: 'webhook-ok',
        approvals: [`{ before: finalize, role: db-owner, timeout: 2m, webhook: "${hook}" }`],
      });
      const events: HandoffEvent[] = [];
      const running = startRun(engineEnvFor(fx, registry, events), loadPlanFile(fx.plan), null);
      const request = await asked;
      const body = request.body as { runId: string };
      const id = body.runId;
      expect(request).toEqual({
        method: 'POST',
        url: '/hooks/T01/SECRET-TOKEN-123?key=abc',
        contentType: 'application/json',
        body: {
          runId: id,
          plan: 'webhook-ok',
          stage: 'finalize',
          role: 'db-owner',
          approveCommand: `handoff approve ${id} --stage finalize --as NAME --role db-owner`,
        },
      });
      await eventsSeen(events, 1);
      const waiting = jsonOf<RunExplanation>(await cli(fx, ['explain', id, '-o', 'json']));
      expect(waiting.waitingFor).toEqual([
        expect.objectContaining({ kind: 'approval', stage: 'finalize', role: 'db-owner' }),
      ]);
      expect(waiting.details).toContainEqual(
        expect.stringMatching(
          new RegExp(`^The approval was asked for by webhook \\(${server.url}, HTTP 200\\) at \\S+\\.$`),
        ),
      );

      const approved = await cli(fx, ['approve', id, '--stage', 'finalize', '--as', 'carol', '--role', 'db-owner']);
      expect(approved.code, approved.stderr).toBe(0);
      const outcome = await running;
      expect(outcome.run.state).toBe('succeeded');
      expect(received).toHaveLength(1);
      expect(webhookEvents(events)).toEqual([
        {
          stage: 'finalize',
          role: 'db-owner',
          url: server.url,
          delivered: true,
          status: 200,
          error: null,
          elapsedMs: expect.any(Number),
        },
      ]);
      const status = await cli(fx, ['status', id, '-o', 'json']);
      expect(jsonOf(status)).toMatchObject({
        approvalWebhooks: [{ stage: 'finalize', role: 'db-owner', url: server.url, delivered: true, status: 200 }],
      });
      const text = await cli(fx, ['status', id]);
      expect(text.stdout).toContain(`approval webhook for finalize/db-owner (${server.url}): delivered, HTTP 200`);
      const trail = fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail.jsonl'), 'utf8');
      expect(trail).toContain('"action":"approval-webhook"');
      for (const out of [trail, status.stdout, text.stdout]) {
        expect(out).not.toContain('SECRET-TOKEN-123');
        expect(out).not.toContain('key=abc');
      }
    },
  );

  it(
    'does not call a delivered webhook again when the run waits again after resume',
    { timeout: 120_000 },
    async () => {
      const { server, received } = await receiver(200);
      const fx = plan({
        name: 'webhook-once',
        approvals: [`{ before: finalize, role: db-owner, timeout: 1s, webhook: "${server.url}/ask" }`],
      });
      const events: HandoffEvent[] = [];
      const env = engineEnvFor(fx, registry, events);
      const first = await startRun(env, loadPlanFile(fx.plan), null);
      expect(first.run.state).toBe('paused');
      expect(received).toHaveLength(1);
      const again = await resumeRun(env, first.run.id);
      expect(again.run.state).toBe('paused');
      expect(again.run.reason).toMatch(/waiting for approval of stage finalize by role db-owner/);
      expect(received).toHaveLength(1);
      expect(webhookEvents(events)).toHaveLength(1);
      expect(events.filter((e) => e.type === 'approval-waiting')).toHaveLength(2);
    },
  );

  it(
    'records a webhook that answers 500, one nobody listens on and one that never answers (bounded); none is fatal and approve still works',
    { timeout: 120_000 },
    async () => {
      const failing = await receiver(500);
      const hanging = await startHangingServer();
      cleanups.push(() => hanging.close());
      const closed = await unreachableUrl();
      const fx = plan({
        name: 'webhook-failing',
        approvals: [
          `{ before: finalize, role: db-owner, timeout: 2m, webhook: "${failing.server.url}/ask" }`,
          `{ before: finalize, role: sre, timeout: 2m, webhook: "${closed}/ask" }`,
          `{ before: finalize, role: security, timeout: 2m, webhook: "${hanging.url}/ask" }`,
        ],
      });
      const events: HandoffEvent[] = [];
      const running = startRun(engineEnvFor(fx, registry, events), loadPlanFile(fx.plan), null);
      await eventsSeen(events, 3);
      const byRole = Object.fromEntries(webhookEvents(events).map((e) => [e.role, e]));
      expect(byRole['db-owner']).toMatchObject({
        delivered: false,
        status: 500,
        error: `${failing.server.url} answered HTTP 500`,
      });
      expect(byRole.sre).toMatchObject({
        delivered: false,
        status: null,
        error: expect.stringMatching(new RegExp(`^${closed} could not be reached: .*ECONNREFUSED`)),
      });
      expect(byRole.security).toMatchObject({
        delivered: false,
        status: null,
        error: `${hanging.url} did not answer within 5000 ms`,
      });
      expect(byRole.security?.elapsedMs).toBeGreaterThanOrEqual(4900);
      expect(byRole.security?.elapsedMs).toBeLessThan(20_000);

      const id = String(events.find((e) => e.type === 'approval-waiting')?.runId);
      const explained = jsonOf<RunExplanation>(await cli(fx, ['explain', id, '-o', 'json']));
      expect(explained.state).toBe('running');
      expect(explained.waitingFor.map((w) => w.role)).toEqual(['db-owner', 'sre', 'security']);
      expect(explained.details).toContainEqual(
        `The approval webhook (${failing.server.url}) could not be called: ${failing.server.url} answered HTTP 500; ask for the approval another way.`,
      );

      for (const role of ['db-owner', 'sre', 'security']) {
        const approved = await cli(fx, ['approve', id, '--stage', 'finalize', '--as', 'carol', '--role', role]);
        expect(approved.code, approved.stderr).toBe(0);
      }
      const outcome = await running;
      expect(outcome.run.state).toBe('succeeded');
      expect(failing.received).toHaveLength(1);
    },
  );
});
