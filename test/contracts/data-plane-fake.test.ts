import { createEventBus } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { createFakeDataPlane, createFakeWorld } from '../../src/data/fake/fake-data-plane.js';
import type { StepContext } from '../../src/data/data-plane.js';
import { testPlan } from '../postgres/step-harness.js';
import { dataPlaneContract } from './data-plane.contract.js';

let runs = 0;

dataPlaneContract('in-memory fake', async () => {
  const world = createFakeWorld(['public.kv']);
  const plan = testPlan('app', ['public.kv']);
  const state = new Map<string, unknown>();
  const ctx: StepContext = {
    runId: `fake${++runs}`,
    stage: 'replicate',
    key: `fake${runs}/replicate/test`,
    epoch: 1,
    plan,
    events: createEventBus(),
    logger: createSilentLogger(),
    redactor: createRedactor(),
    secrets: {
      databaseUrl: (site) => `fake://${site}`,
      resolve: () => {
        throw new Error('not used');
      },
    },
    signal: new AbortController().signal,
    state: {
      get: <T = unknown>(key: string) => state.get(key) as T | undefined,
      set: (key, value) => void state.set(key, value),
    },
  };
  return {
    plane: createFakeDataPlane(world),
    ctx,
    entry: plan.spec.data[0]!,
    sourceUrl: 'fake://source',
    targetUrl: 'fake://target',
    appWrite: async (site, key, value) => world.appWrite(site, 'public.kv', key, value),
    read: async (site, key) => world[site].tables.get('public.kv')?.get(key) ?? null,
    diverge: async (key, value) => void world.target.tables.get('public.kv')?.set(key, value),
    leftovers: async () => [...world.source.objects, ...world.target.objects],
    close: async () => undefined,
  };
});
