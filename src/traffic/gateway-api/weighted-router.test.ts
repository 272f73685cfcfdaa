import { describe, expect, it } from 'vitest';
import { AdapterError } from '../../common/errors.js';
import { createEventBus, type HandoffEvent } from '../../common/events.js';
import { createSilentLogger } from '../../common/logger.js';
import type { IntegerWeights } from './integer-weights.js';
import { createWeightedRouter, type WeightStore } from './weighted-router.js';
import { GATEWAY_API_CAPABILITIES } from '../capabilities.js';

/** An in-memory store of integer weights that records every write and can fail the next one. */
function memoryStore(initial: IntegerWeights) {
  let weights = { ...initial };
  const writes: IntegerWeights[] = [];
  let failNext: Error | null = null;
  const store: WeightStore = {
    async read() {
      return { ...weights };
    },
    async write(next) {
      if (failNext) {
        const error = failNext;
        failNext = null;
        throw error;
      }
      writes.push({ ...next });
      weights = { ...next };
    },
  };
  return {
    store,
    writes,
    set: (next: IntegerWeights) => (weights = { ...next }),
    fail: (error: Error) => (failNext = error),
  };
}

function make(initial: IntegerWeights = { source: 1000, target: 0 }) {
  const memory = memoryStore(initial);
  const events = createEventBus();
  const seen: HandoffEvent[] = [];
  events.on((event) => seen.push(event));
  const router = createWeightedRouter(
    { driver: 'gateway-api', capabilities: GATEWAY_API_CAPABILITIES, sites: ['source', 'target'] },
    { store: memory.store, events, logger: createSilentLogger() },
  );
  return { router, memory, seen };
}

describe('weights-only router core', () => {
  it('writes once per change, emits one routes-changed event, and never claims a drain it cannot see', async () => {
    const { router, memory, seen } = make();
    const first = await router.setRoutes(
      { reads: { source: 0.99, target: 0.01 }, writes: { source: 0.99, target: 0.01 } },
      { drainMs: 2000 },
    );
    expect(first.drain).toEqual({ drained: false, inFlight: 0, waitedMs: 0 });
    const again = await router.setRoutes({
      reads: { source: 0.99, target: 0.01 },
      writes: { source: 0.99, target: 0.01 },
    });
    expect(again).toMatchObject({ changed: [], drain: { drained: true } });
    expect(memory.writes).toEqual([{ source: 990, target: 10 }]);
    expect(seen.map((e) => e.type)).toEqual(['router-routes-changed']);
    expect(seen[0]?.data).toMatchObject({
      before: { reads: { source: 1, target: 0 } },
      after: { writes: { source: 0.99, target: 0.01 } },
      changed: ['reads', 'writes'],
    });
  });

  it('accepts one class alone when the other already has those weights (cutover after a full shift)', async () => {
    const { router, memory } = make({ source: 0, target: 1000 });
    expect((await router.setRoutes({ writes: { target: 1 } })).changed).toEqual([]);
    await expect(router.setRoutes({ writes: { source: 1 } })).rejects.toThrow('cannot route reads and writes apart');
    expect(memory.writes).toEqual([]);
  });

  it('reports what the store holds now, even when something else changed it', async () => {
    const { router, memory } = make();
    memory.set({ source: 3, target: 1 });
    const snapshot = await router.snapshot();
    expect(snapshot.routes).toEqual({ reads: { source: 0.75, target: 0.25 }, writes: { source: 0.75, target: 0.25 } });
    expect(snapshot.observed.reads).toMatchObject({ requests: 0, shares: {} });
    expect(snapshot.stats).toMatchObject({ held: 0, rejected: 0, retries: 0 });
  });

  it('passes a failed write on and emits nothing', async () => {
    const { router, memory, seen } = make();
    memory.fail(new AdapterError('the API server is down'));
    await expect(router.setRoutes({ reads: { target: 1 }, writes: { target: 1 } })).rejects.toThrow(
      'the API server is down',
    );
    expect(seen).toEqual([]);
    expect((await router.snapshot()).routes.reads).toEqual({ source: 1, target: 0 });
  });
});
