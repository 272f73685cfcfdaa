import { describe, expect, it } from 'vitest';
import type { AnalysisSpec } from '../plan/schema.js';
import { analysis as analysisSchema } from '../plan/schema.js';
import type { RouterStatsInput } from './providers/router-stats.js';
import { buildGate, buildGateChecks } from './registry.js';

const sites = { source: { databases: {} }, target: { endpoint: 'http://127.0.0.1:9', databases: {} } };
const parse = (input: unknown): AnalysisSpec => analysisSchema.parse(input);

describe('analysis registry', () => {
  it('shares one router provider between router checks and adds the observed-share check', () => {
    const checks = buildGateChecks({
      name: 'shift-5',
      bakeMs: 0,
      expectedShare: 0.05,
      analysis: parse({
        checks: [
          { name: 'errors', metric: 'router.error_rate' },
          { name: 'p99', metric: 'router.latency_p99_ms' },
        ],
      }),
      context: { sites, routerStats: async () => ({ sites: {} }) },
    });
    expect(checks.map((c) => c.config.name)).toEqual(['errors', 'p99', 'observed-share']);
    expect(new Set(checks.map((c) => c.provider)).size).toBe(1);
  });

  it('names the check and the missing field', () => {
    const build =
      (checks: unknown[], extra: Record<string, unknown> = {}) =>
      () =>
        buildGateChecks({ name: 'g', bakeMs: 0, analysis: parse({ checks, ...extra }), context: { sites } });
    expect(build([{ name: 'q', metric: 'prometheus.query', query: 'up', max: 1 }])).toThrow(
      "spec.analysis.prometheus.url: prometheus.query needs the Prometheus server's URL",
    );
    expect(
      build([{ name: 'q', metric: 'prometheus.query', max: 1 }], { prometheus: { url: 'http://p:9090' } }),
    ).toThrow(/spec.analysis.checks\[0\].query: prometheus.query needs a PromQL query/);
    expect(build([{ name: 'e', metric: 'router.error_rate' }])).toThrow(/router.\* checks need router statistics/);
    expect(build([{ name: 's', metric: 'sql.value', database: 'orders', query: 'select 1', max: 2 }])).toThrow(
      /checks\[0\].database: "orders" is not a database of the target site/,
    );
    expect(build([{ name: 'x', metric: 'router.nope' }])).toThrow(
      /checks\[0\].metric: "router.nope" is not a known metric/,
    );
  });

  it('builds a gate that measures through the router statistics', async () => {
    let clock = 0;
    let requests = 0;
    const stats = async (): Promise<RouterStatsInput> => {
      requests += 1000;
      const cls = (n: number, e: number) => ({ requests: n, errors: e });
      return {
        sites: {
          source: { reads: cls(requests, 0), writes: cls(0, 0) },
          target: { reads: cls(requests, requests / 10), writes: cls(0, 0) },
        },
      };
    };
    const gate = buildGate({
      name: 'shift-50',
      bakeMs: 0,
      analysis: parse({
        interval: '1s',
        checks: [{ name: 'errors', metric: 'router.error_rate', max: 0.05, critical: true }],
      }),
      context: { sites, routerStats: stats, now: () => clock },
    });
    await gate.start();
    clock = 1000;
    const decision = await gate.tick();
    expect(decision.decision).toBe('rollback');
    expect(decision.checks[0]).toMatchObject({ value: 0.1, samples: 1000 });
  });
});
