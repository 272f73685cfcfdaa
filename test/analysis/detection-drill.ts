/**
 * The detection half of the rollback drill (issue 5): two real sites behind the real built-in
 * router, reads shifted 25 % to the target under steady load, a gate with a 1 s interval watching
 * the router's statistics. Midway, the target starts answering 5xx on 20 % of requests; the drill
 * measures the time from the first bad response to the gate's rollback decision, and to the read
 * weights being back on the source (done here directly; the engine will do it in a run).
 */
import { request } from 'undici';
import type { GateDecision } from '../../src/analysis/gate-decision.js';
import { routerStatsSchema } from '../../src/analysis/providers/router-stats.js';
import { buildGate } from '../../src/analysis/registry.js';
import { createEventBus, type HandoffEvent } from '../../src/common/events.js';
import { sleep } from '../../src/common/net.js';
import { analysis as analysisSchema } from '../../src/plan/schema.js';
import { createBuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';
import { startHttpServer } from './http-server.js';

export interface DrillResult {
  /** First 5xx answered by the target → gate decided rollback. */
  detectionMs: number;
  /** First 5xx answered by the target → read weights back on the source. */
  weightsBackMs: number;
  decision: GateDecision;
  /** Decisions before the fault (none may be rollback). */
  healthyDecisions: string[];
  events: HandoffEvent[];
  /** Reads the target answered after the weights were back (must be 0 beyond those in flight). */
  targetReadsAfterRollback: number;
  requestsSent: number;
}

export interface DrillOptions {
  intervalMs?: number;
  healthyTicks?: number;
  /** How long after a tick the fault starts (its phase within the interval); 0 unless given. */
  faultOffsetMs?: number;
}

export async function runDetectionDrill(options: DrillOptions = {}): Promise<DrillResult> {
  const intervalMs = options.intervalMs ?? 1000;
  let failing = false;
  let firstBadAt: number | null = null;
  let targetHits = 0;
  let rolledBack = false;
  let targetReadsAfterRollback = 0;
  const source = await startHttpServer((_req, res) => res.end('ok'));
  const target = await startHttpServer((_req, res) => {
    targetHits++;
    if (rolledBack) targetReadsAfterRollback++;
    if (failing && targetHits % 5 === 0) {
      firstBadAt ??= performance.now();
      res.statusCode = 500;
      res.end('boom');
      return;
    }
    res.end('ok');
  });
  const builtin = await createBuiltinRouter({
    listen: { host: '127.0.0.1', port: 0 },
    sites: { source: source.url, target: target.url },
    maxReadLagMs: null,
  });
  let stopLoad = false;
  let sent = 0;
  const loadUntil = Date.now() + 120_000;
  const worker = async (): Promise<void> => {
    while (!stopLoad && sent < 200_000 && Date.now() < loadUntil) {
      sent++;
      try {
        const res = await request(`${builtin.server.proxyUrl}/items/${sent}`, {
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        await res.body.text();
      } catch {
        // the router counts it
      }
    }
  };
  const workers = Array.from({ length: 4 }, () => worker());
  const events: HandoffEvent[] = [];
  const bus = createEventBus();
  bus.on((e) => events.push(e));
  try {
    await builtin.router.setRoutes({ reads: { source: 0.75, target: 0.25 } });
    const gate = buildGate({
      name: 'shift-25',
      bakeMs: 0,
      expectedShare: 0.25,
      events: bus,
      analysis: analysisSchema.parse({
        interval: `${intervalMs}ms`,
        minSamples: 20,
        checks: [{ name: 'errors', metric: 'router.error_rate', class: 'reads', relativeToSource: { fail: 2 } }],
      }),
      context: {
        sites: { source: { databases: {} }, target: { databases: {} } },
        routerStats: async () => routerStatsSchema.parse((await builtin.router.snapshot()).stats),
      },
    });
    await gate.start();
    const healthyDecisions: string[] = [];
    const tick = async (): Promise<GateDecision> => {
      await sleep(Math.max(0, gate.nextDueAt() - Date.now()));
      return gate.tick();
    };
    for (let i = 0; i < (options.healthyTicks ?? 4); i++) healthyDecisions.push((await tick()).decision);
    await sleep(options.faultOffsetMs ?? 0);
    failing = true;
    const deadline = Date.now() + 60_000;
    let decision = gate.decision();
    while (decision.decision !== 'rollback' && Date.now() < deadline) decision = await tick();
    const decidedAt = performance.now();
    if (decision.decision !== 'rollback') throw new Error(`no rollback within 60 s: ${decision.reasons.join('; ')}`);
    await builtin.router.setRoutes({ reads: { source: 1 } }, { drainMs: 2000 });
    const backAt = performance.now();
    rolledBack = true;
    await gate.stop();
    const bad = firstBadAt ?? decidedAt;
    await sleep(300); // let reads flow after the switch, to see none reach the target
    return {
      detectionMs: decidedAt - bad,
      weightsBackMs: backAt - bad,
      decision,
      healthyDecisions,
      events,
      targetReadsAfterRollback,
      requestsSent: sent,
    };
  } finally {
    stopLoad = true;
    await Promise.all(workers);
    await builtin.server.close(1000);
    await Promise.all([source.close(), target.close()]);
  }
}
