import { describe, expect, it } from 'vitest';
import { AdapterError } from '../common/errors.js';
import { createSilentLogger } from '../common/logger.js';
import { createRedactor } from '../common/redact.js';
import type { MigrationInput } from '../plan/schema.js';
import { GATEWAY_API_CAPABILITIES } from '../traffic/capabilities.js';
import { createFakeRouter } from '../traffic/fake/fake-router.js';
import type { TrafficRouter } from '../traffic/router.js';
import {
  blockersError,
  PREFLIGHT_CHECKS,
  preflightChecksFor,
  runPreflight,
  type PreflightCheck,
  type PreflightEnv,
} from './preflight-checks.js';
import { mapSecrets, testPlan } from './testing.js';

type Spec = Partial<MigrationInput['spec']>;

function envFor(spec: Spec, router: () => Promise<TrafficRouter>): PreflightEnv {
  const plan = testPlan(spec);
  const unused = (what: string) => () => {
    throw new Error(`this plan needs no ${what}`);
  };
  return {
    plan,
    secrets: mapSecrets({ 'spec.traffic.router.adminToken': 'token-0123456789' }),
    redactor: createRedactor(),
    platformContext: { runId: 'r', logger: createSilentLogger(), signal: new AbortController().signal },
    platform: unused('platform'),
    dataPlane: unused('data plane'),
    router,
  };
}

const builtin = {
  traffic: {
    router: { kind: 'builtin', listen: '127.0.0.1:0', admin: '127.0.0.1:1', adminToken: { fromEnv: 'TOKEN' } },
  },
} as Spec;
const gateway = {
  traffic: { router: { kind: 'gateway-api', route: 'web' }, reads: { steps: [0.05, 50, 100] } },
} as Spec;

describe('the one preflight', () => {
  it('picks the checks by what the plan has: secrets always, the router only with a traffic section', () => {
    expect(preflightChecksFor(testPlan()).map((c) => c.step)).toEqual(['resolve-secrets']);
    expect(preflightChecksFor(testPlan(builtin)).map((c) => c.step)).toEqual(['resolve-secrets', 'router-preflight']);
    expect(
      preflightChecksFor(
        testPlan({ ...builtin, workloads: { processes: [{ name: 'web', command: 'node' }] } } as Spec),
      ).map((c) => c.component),
    ).toEqual(['secrets', 'platform', 'router']);
  });

  it('reports a router that cannot be driven as router.unreachable, a blocker that stops the run', async () => {
    const env = envFor(builtin, async () => {
      throw new AdapterError('router admin API at http://127.0.0.1:1 could not be reached: connect ECONNREFUSED', {
        retryable: true,
      });
    });
    const result = await runPreflight(env);
    expect(result.ok).toBe(false);
    expect(result.components.map((c) => c.component)).toEqual(['secrets', 'router']);
    expect(result.findings).toEqual([
      expect.objectContaining({
        id: 'router.unreachable',
        severity: 'blocker',
        message: expect.stringContaining('ECONNREFUSED'),
      }),
    ]);
    expect(blockersError(result.findings)?.message).toMatch(
      /^preflight found 1 blocker\(s\): router\.unreachable \(spec\.traffic\.router\)/,
    );
  });

  it('reads what a weights-only router lacks from its capabilities, and finds a reachable router without blockers of its own', async () => {
    const router = createFakeRouter({ capabilities: GATEWAY_API_CAPABILITIES });
    const result = await runPreflight(envFor(gateway, async () => router));
    expect(result.findings.map((f) => [f.id, f.severity])).toEqual([
      ['router.weight-resolution', 'blocker'],
      ['router.cannot-hold', 'warning'],
    ]);
    expect(router.calls.map((c) => c.method)).toEqual(['snapshot']);
    expect(blockersError([])).toBeNull();
  });

  it('takes any list of checks: an added check joins the findings, in order, for the command and the run alike', async () => {
    const extra: PreflightCheck = {
      component: 'extra',
      step: 'extra-preflight',
      appliesTo: () => true,
      run: async () => ({
        findings: [
          {
            id: 'extra.something',
            severity: 'warning',
            subject: 'x',
            message: 'something to accept',
            remediation: 'accept it',
          },
        ],
        details: { looked: 1 },
      }),
    };
    const checks = preflightChecksFor(testPlan(builtin), [...PREFLIGHT_CHECKS, extra]);
    expect(checks.map((c) => c.component)).toEqual(['secrets', 'router', 'extra']);
    const result = await runPreflight(
      envFor(builtin, async () => createFakeRouter()),
      checks,
    );
    expect(result.ok).toBe(true);
    expect(result.components.at(-1)).toEqual({
      component: 'extra',
      findings: [expect.objectContaining({ id: 'extra.something' })],
      details: { looked: 1 },
    });
  });
});
