import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createEventBus } from '../../src/common/events.js';
import { HandoffError } from '../../src/common/errors.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { migration, type MigrationInput } from '../../src/plan/schema.js';
import { startSite, type TestSite } from './support/sites.js';
import { createTrafficRouterForPlan, type TrafficRouterHandle } from '../../src/traffic/registry.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spec(traffic: unknown, endpoints: Record<string, string>) {
  const input = {
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'orders' },
    spec: {
      source: { platform: { kind: 'local' }, endpoint: endpoints.source },
      target: { platform: { kind: 'local' }, endpoint: endpoints.target },
      ...(traffic === undefined ? {} : { traffic }),
    },
  } as MigrationInput;
  const parsed = migration.safeParse(input);
  if (!parsed.success) throw new Error(parsed.error.message);
  return parsed.data.spec;
}

const deps = {
  events: createEventBus(),
  logger: createSilentLogger(),
  resolveSecret: () => 'a-resolved-token-0123456789',
};

describe('traffic router registry', () => {
  it('starts the built-in router from the plan, with the token resolved from its reference', async () => {
    const sites: TestSite[] = [await startSite('source'), await startSite('target')];
    for (const site of sites) cleanups.push(() => site.close());
    const handle: TrafficRouterHandle = await createTrafficRouterForPlan(
      spec(
        {
          router: {
            kind: 'builtin',
            listen: '127.0.0.1:0',
            admin: '127.0.0.1:0',
            adminToken: { fromEnv: 'ROUTER_TOKEN' },
          },
          consistency: { maxReadLag: '1s' },
        },
        { source: sites[0]?.url ?? '', target: sites[1]?.url ?? '' },
      ),
      deps,
    );
    cleanups.push(() => handle.close());
    await handle.router.setRoutes({ writes: { target: 1 } });
    const answer = await request(`${handle.proxyUrl}/x`, { method: 'POST', body: 'x' });
    expect(await answer.body.text()).toBe('target');
  });

  it('refuses a cluster-driven router with no Kubernetes context, and plans without a traffic section', async () => {
    const endpoints = { source: 'http://127.0.0.1:1', target: 'http://127.0.0.1:2' };
    const gateway = createTrafficRouterForPlan(
      spec({ router: { kind: 'gateway-api', route: 'orders' } }, endpoints),
      deps,
    );
    await expect(gateway).rejects.toThrow(
      'spec.traffic.router.context: the gateway-api router needs a Kubernetes context',
    );
    const error = await Promise.resolve()
      .then(() => createTrafficRouterForPlan(spec(undefined, endpoints), deps))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffError);
    expect((error as HandoffError).code).toBe('input.invalid');
  });
});
