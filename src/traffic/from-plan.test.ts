import { describe, expect, it } from 'vitest';
import { migration, type MigrationInput } from '../plan/schema.js';
import { resolveRouterOptions } from './builtin/options.js';
import { builtinRouterOptionsFromPlan } from './from-plan.js';

function plan(overrides: Record<string, unknown> = {}, endpoints = true): MigrationInput {
  const site = (name: string) => ({
    platform: { kind: 'local' },
    ...(endpoints ? { endpoint: `http://127.0.0.1:${name === 'source' ? 7001 : 7002}` } : {}),
  });
  return {
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'orders' },
    spec: {
      source: site('source'),
      target: site('target'),
      traffic: {
        router: { kind: 'builtin', listen: '127.0.0.1:8080', admin: '127.0.0.1:9090' },
        reads: { steps: [1, 100], bake: '1s', methods: ['GET'], paths: ['/api/'] },
        consistency: { stickyAfterWrite: '3s', maxReadLag: '250ms' },
        ...overrides,
      },
    },
  } as MigrationInput;
}

describe('built-in router options from a plan', () => {
  it('takes the sites, addresses, read classes and consistency bounds from the plan', () => {
    const parsed = migration.safeParse(plan());
    if (!parsed.success) throw new Error(parsed.error.message);
    const options = resolveRouterOptions(builtinRouterOptionsFromPlan(parsed.data.spec, 'a-token-of-sixteen-chars'));
    expect(options).toMatchObject({
      listen: { host: '127.0.0.1', port: 8080 },
      admin: { host: '127.0.0.1', port: 9090 },
      sites: { source: 'http://127.0.0.1:7001', target: 'http://127.0.0.1:7002' },
      readMethods: ['GET'],
      readPaths: ['/api/'],
      stickyAfterWriteMs: 3000,
      maxReadLagMs: 250,
    });
  });

  it('says which endpoint is missing, or that the router is not the built-in one', () => {
    const noEndpoints = migration.safeParse(plan({}, false));
    if (!noEndpoints.success) throw new Error(noEndpoints.error.message);
    expect(() => builtinRouterOptionsFromPlan(noEndpoints.data.spec)).toThrow(
      'spec.source.endpoint: the built-in router needs',
    );
    const gateway = migration.safeParse(plan({ router: { kind: 'gateway-api', route: 'orders' } }));
    if (!gateway.success) throw new Error(gateway.error.message);
    expect(() => builtinRouterOptionsFromPlan(gateway.data.spec)).toThrow('"gateway-api" is not the built-in router');
  });
});
