import { describe, expect, it } from 'vitest';
import { loadPlanText } from '../plan/load.js';
import {
  DEMO_APP_LOGINS,
  DEMO_ENV,
  DEMO_ROTATION_PASSWORD_ENV,
  DEMO_SERVICE_PRIORITY,
  DEMO_STEPS,
  demoPlanText,
  type DemoPlanOptions,
} from './demo-plan.js';

const base: DemoPlanOptions = {
  serviceCommand: '/usr/bin/node',
  serviceArgs: ['--import', 'file:///x/loader.mjs', '/x/src/demo/service/main.ts'],
  sourcePort: 4001,
  targetPort: 4002,
  routerPort: 4003,
  adminPort: 4004,
  bakeMs: 3000,
  injectErrors: null,
  envNames: DEMO_ENV,
  tokenFile: 'router-token',
};

describe('the demo plan', () => {
  it('is a valid plan: schema and cross-field rules, secrets only as references', () => {
    const { plan } = loadPlanText(demoPlanText(base), '/x/plan.yaml');
    expect(plan.spec.source.databases.shop?.url).toEqual({ fromEnv: DEMO_ENV.sourceShop });
    expect(plan.spec.target.databases.app?.url).toEqual({ fromEnv: DEMO_ENV.targetApp });
    expect(plan.spec.traffic?.router).toMatchObject({
      kind: 'builtin',
      listen: '127.0.0.1:4003',
      admin: '127.0.0.1:4004',
      adminToken: { fromFile: 'router-token' },
    });
    expect(plan.spec.traffic?.reads).toMatchObject({ steps: [...DEMO_STEPS], bake: '3000ms' });
    expect(plan.spec.data[0]).toMatchObject({ database: 'shop', fence: { method: 'revoke', roles: ['demo_app'] } });
    expect(plan.spec.analysis?.checks[0]).toMatchObject({ metric: 'router.error_rate', failureLimit: 0 });
    const shop = plan.spec.workloads?.processes?.[0];
    expect(shop?.args).toEqual(base.serviceArgs);
    expect(shop?.env).toMatchObject({
      DATABASE_URL: '{{db.app}}',
      MIGRATE_DATABASE_URL: '{{db.shop}}',
      SITE: '{{site}}',
    });
    expect(shop?.env.INJECT_ERRORS).toBeUndefined();
    expect(shop?.priority).toBe(DEMO_SERVICE_PRIORITY);
  });

  it('rolls the whole run back on a failed shift gate, unless asked to hold (a rehearsal resumes it)', () => {
    expect(loadPlanText(demoPlanText(base), '/x/plan.yaml').plan.spec.rollback).toEqual({
      automatic: true,
      shiftGate: 'rollback',
    });
    const held = loadPlanText(demoPlanText({ ...base, shiftGate: 'hold' }), '/x/plan.yaml').plan;
    expect(held.spec.rollback).toEqual({ automatic: true, shiftGate: 'hold' });
  });

  it('with a credentials directory and no rotation: the service follows a file per site, the app databases stay', () => {
    const { plan } = loadPlanText(demoPlanText({ ...base, credentialsDir: '/tmp/creds' }), '/x/plan.yaml');
    const env = plan.spec.workloads?.processes?.[0]?.env;
    expect(env?.DATABASE_URL_FILE).toBe('/tmp/creds/{{site}}.url');
    expect(env?.DATABASE_URL).toBeUndefined();
    expect(plan.spec.target.databases.app?.url).toEqual({ fromEnv: DEMO_ENV.targetApp });
    expect(plan.spec.data[0]?.access).toBeUndefined();
  });

  it('gives the bake stage its own bake when asked, the shift steps keeping theirs', () => {
    const { plan } = loadPlanText(demoPlanText({ ...base, bakeStageMs: 9500 }), '/x/plan.yaml');
    expect(plan.spec.traffic?.reads.bake).toBe('3000ms');
    expect(plan.spec.stages.find((s) => s.name === 'bake')?.bake).toBe('9500ms');
  });

  it('breaks only the target when errors are injected', () => {
    const { plan } = loadPlanText(demoPlanText({ ...base, injectErrors: 'target:0.2' }), '/x/plan.yaml');
    expect(plan.spec.workloads?.processes?.[0]?.env.INJECT_ERRORS).toBe('target:0.2');
  });

  it('quotes paths that YAML would otherwise misread', () => {
    const { plan } = loadPlanText(demoPlanText({ ...base, serviceCommand: '/opt/my node: "x"/node' }), '/x/plan.yaml');
    expect(plan.spec.workloads?.processes?.[0]?.command).toBe('/opt/my node: "x"/node');
  });

  it('with rotation: the service follows a credentials file per site, the data entry rotates blue to green', () => {
    const text = demoPlanText({
      ...base,
      rotation: {
        credentialsDir: '/tmp/creds x',
        passwordEnv: DEMO_ROTATION_PASSWORD_ENV,
        retireAfterMs: 10_000,
        startAfterMs: 3000,
      },
    });
    const { plan } = loadPlanText(text, '/x/plan.yaml');
    expect(plan.spec.data[0]?.access?.rotation).toEqual({
      group: 'demo_app',
      roles: [...DEMO_APP_LOGINS],
      password: { fromEnv: DEMO_ROTATION_PASSWORD_ENV },
      startAfter: '3000ms',
      retireAfter: '10000ms',
    });
    // The fence still acts on the group role that holds the privileges.
    expect(plan.spec.data[0]?.fence).toMatchObject({ method: 'revoke', roles: ['demo_app'] });
    const env = plan.spec.workloads?.processes?.[0]?.env ?? {};
    expect(env.DATABASE_URL_FILE).toBe('/tmp/creds x/{{site}}.url');
    expect(env.DATABASE_URL).toBeUndefined();
    // No app URL is needed: the credentials reach the service through the file only.
    expect(plan.spec.source.databases.app).toBeUndefined();
    expect(Object.keys(plan.spec.target.databases)).toEqual(['shop']);
  });
});
