import { describe, expect, it } from 'vitest';
import { loadPlanText } from '../plan/load.js';
import { createShadowLedger } from '../shadow/ledger.js';
import { shadowVerdict } from '../shadow/verdict.js';
import { DEMO_ENV, demoPlanText, type DemoPlanOptions } from './demo-plan.js';
import { alterOneField } from './service/alter.js';
import { formatShadowLine, shadowSummary } from './shadow-summary.js';

const base: DemoPlanOptions = {
  serviceCommand: '/usr/bin/node',
  serviceArgs: ['/x/src/demo/service/main.ts'],
  sourcePort: 4001,
  targetPort: 4002,
  routerPort: 4003,
  adminPort: 4004,
  bakeMs: 3000,
  injectErrors: null,
  envNames: DEMO_ENV,
  tokenFile: 'router-token',
};

describe('the demo with --shadow and --inject-target-diff', () => {
  it('writes a shadow stage into the plan, and the diff injection on the target only', () => {
    const { plan } = loadPlanText(demoPlanText({ ...base, shadow: 0.2, injectDiffs: 'target:0.05' }), '/x/plan.yaml');
    expect(plan.spec.traffic?.shadow).toMatchObject({ share: 0.2, budget: { maxDiffRate: 0.005, minSamples: 500 } });
    expect(plan.spec.workloads?.processes?.[0]?.env.INJECT_DIFFS).toBe('target:0.05');
    const { plan: plain } = loadPlanText(demoPlanText(base), '/x/plan.yaml');
    expect(plain.spec.traffic?.shadow).toBeUndefined();
    expect(plain.spec.workloads?.processes?.[0]?.env.INJECT_DIFFS).toBeUndefined();
  });

  it("alters one field that never changes by itself: an account's owner, an order's item", () => {
    expect(alterOneField({ id: 1, owner: 'ann', balance: '10' })).toEqual({ id: 1, owner: 'ann~', balance: '10' });
    expect(alterOneField({ orders: [{ item: 'tea' }, { item: 'milk' }] })).toEqual({
      orders: [{ item: 'tea~' }, { item: 'milk' }],
    });
    expect(alterOneField({ total: '100' })).toEqual({ total: '100' });
  });

  it('summarises the verdict with the changed paths named', () => {
    const ledger = createShadowLedger();
    for (let i = 0; i < 95; i++) ledger.record('GET /accounts/:id', [], () => ({}) as never);
    const evidence = () => ({
      at: 't',
      method: 'GET',
      path: '/accounts/3',
      endpoint: 'GET /accounts/:id',
      sourceStatus: 200,
      targetStatus: 200,
      source: '{}',
      target: '{}',
      reread: false,
    });
    for (let i = 0; i < 5; i++) ledger.record('GET /accounts/:id', ['$.owner'], evidence);
    const report = ledger.report(0);
    const status = { active: false, since: null, watermark: null, pendingStale: 0, inFlight: 0, ...report };
    const verdict = shadowVerdict(status, {
      threshold: 0.005,
      minSamples: 50,
      share: 0.2,
      durationMs: 1000,
      evidenceFile: 'shadow/r.jsonl',
    });
    const summary = shadowSummary(verdict);
    expect(summary).toMatchObject({ compared: 100, differences: 5, diffRate: 0.05, passed: false });
    expect(summary.changedPaths).toEqual(['GET /accounts/:id $.owner']);
    expect(formatShadowLine(summary)).toContain('FAILED');
    expect(verdict.reason).toContain('GET /accounts/:id at $.owner (5)');
  });
});
