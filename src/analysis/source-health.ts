/**
 * Before traffic is rolled back onto the source, the source must be able to take it (DESIGN.md,
 * "Gates"): a few probes of its endpoint, all within a bound, must succeed. Rolling back onto a
 * dead site is worse than holding; the engine pauses the run with this reason instead.
 */
import { fmt } from './check-evaluate.js';
import { probeEndpoint, type ProbeSpec } from './providers/http-probe.js';

export interface SourceHealthOptions {
  endpoint: string;
  probe?: ProbeSpec;
  /** Probes to send, one after the other; 3. */
  probes?: number;
  /** Bound on each probe; 2 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SourceHealth {
  healthy: boolean;
  reason: string;
  probes: Array<{ ok: boolean; latencyMs: number; reason?: string }>;
}

export const DEFAULT_HEALTH_PROBE: ProbeSpec = { method: 'GET', path: '/healthz', expectStatus: 200 };

export async function checkSourceHealth(options: SourceHealthOptions): Promise<SourceHealth> {
  const probe = options.probe ?? DEFAULT_HEALTH_PROBE;
  const count = options.probes ?? 3;
  const timeoutMs = options.timeoutMs ?? 2000;
  const probes: SourceHealth['probes'] = [];
  for (let i = 0; i < count; i++) {
    const r = await probeEndpoint(options.endpoint, probe, timeoutMs, options.signal);
    probes.push({ ok: r.ok, latencyMs: r.latencyMs, ...(r.reason ? { reason: r.reason } : {}) });
  }
  const failed = probes.filter((p) => !p.ok);
  const what = `${probe.method} ${probe.path} on the source`;
  if (failed.length === 0) {
    const slowest = Math.max(...probes.map((p) => p.latencyMs));
    return {
      healthy: true,
      reason: `${what} answered ${count} of ${count} probes (slowest ${fmt(slowest)} ms)`,
      probes,
    };
  }
  return {
    healthy: false,
    reason: `${what} failed ${failed.length} of ${count} probes (${failed[0]?.reason ?? 'failed'}); not moving traffic onto it`,
    probes,
  };
}
