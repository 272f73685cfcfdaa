/**
 * The TrafficRouter contract: what the engine may rely on from every implementation (the fake, the
 * built-in router in-process and through its admin API, the gateway-api and dns drivers). Each
 * implementation supplies a fixture; one that sees requests can also send traffic through the router.
 *
 * Routers differ in what they can do (`router.capabilities`). A case that needs a capability the
 * router lacks is skipped, with the reason in its name ("(skipped: the dns router cannot hold)");
 * the router's answer to what it cannot do (a refused hold, classes only moved together) is a case
 * of its own, run only where the capability is missing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HandoffError } from '../../src/common/errors.js';
import type { RouterCapabilities } from '../../src/traffic/capabilities.js';
import type { TrafficRouter } from '../../src/traffic/router.js';
import { latencyWindow } from '../../src/traffic/latency-window.js';
import type { RequestClass } from '../../src/traffic/routes.js';

export interface TrafficRouterFixture {
  router: TrafficRouter;
  /**
   * Sends `count` requests of a class through the router; resolves when all were answered. Needed
   * only by routers that see requests (`capabilities.statistics`).
   */
  traffic?(cls: RequestClass, count: number): Promise<void>;
  close(): Promise<void>;
}

async function failureOf(promise: Promise<unknown>): Promise<HandoffError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HandoffError);
  return error as HandoffError;
}

async function expectInputError(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await failureOf(promise);
  expect(error.code).toBe('input.invalid');
  expect(error.message).toContain(message);
}

/**
 * @param capabilities what the router is described as able to do (from `capabilitiesOf(spec)` or
 * the implementation's constant); the first case checks the built router declares exactly this.
 */
export function describeTrafficRouterContract(
  name: string,
  capabilities: Readonly<RouterCapabilities>,
  make: () => Promise<TrafficRouterFixture>,
): void {
  const caps = capabilities;
  /** `title`, plus the printed reason when the case is skipped for lack of a capability. */
  const needs = (title: string, has: boolean, lack: string): string =>
    has ? title : `${title} (skipped: the ${name} router ${lack})`;
  /** A case that only applies when a capability is missing: the reason when it is skipped. */
  const without = (title: string, lacks: boolean, has: string): string =>
    lacks ? title : `${title} (skipped: the ${name} router ${has})`;
  const traffic = (fixture: TrafficRouterFixture, cls: RequestClass, count: number): Promise<void> => {
    if (!fixture.traffic)
      throw new Error(`the ${name} fixture cannot send traffic, but its router declares statistics`);
    return fixture.traffic(cls, count);
  };
  const sameForBoth = (weights: Record<string, number>) => ({ reads: weights, writes: weights });

  describe(`TrafficRouter contract: ${name}`, () => {
    let fixture: TrafficRouterFixture;
    beforeEach(async () => {
      fixture = await make();
    });
    afterEach(async () => {
      await fixture.close();
    });

    it('declares the capabilities it is described with, and they do not change', async () => {
      expect({ ...fixture.router.capabilities }).toEqual({ ...caps });
      await fixture.router.snapshot();
      expect({ ...fixture.router.capabilities }).toEqual({ ...caps });
    });

    it('starts with everything on the source, no hold, unknown lag and no traffic', async () => {
      const snapshot = await fixture.router.snapshot();
      expect(snapshot.sites).toEqual(['source', 'target']);
      expect(snapshot.routes).toEqual({ reads: { source: 1, target: 0 }, writes: { source: 1, target: 0 } });
      expect(snapshot.hold).toMatchObject({ active: false, queued: 0, classes: [], lastRelease: null });
      expect(snapshot.lag).toEqual({ source: null, target: null });
      expect(snapshot.stats.sites.target?.reads).toMatchObject({
        requests: 0,
        errors: 0,
        p50Ms: null,
        latencyBuckets: [],
      });
    });

    it.skipIf(!caps.splitClasses)(
      needs(
        'sets routes per class, keeps the class left out, and setting them again changes nothing',
        caps.splitClasses,
        'cannot route reads and writes apart',
      ),
      async () => {
        const first = await fixture.router.setRoutes({ reads: { source: 0.995, target: 0.005 } });
        expect(first.changed).toEqual(['reads']);
        expect(first.routes).toEqual({ reads: { source: 0.995, target: 0.005 }, writes: { source: 1, target: 0 } });
        const again = await fixture.router.setRoutes({ reads: { source: 0.995, target: 0.005 } });
        expect(again.changed).toEqual([]);
        await fixture.router.setRoutes({ writes: { target: 1 } });
        expect((await fixture.router.snapshot()).routes).toEqual({
          reads: { source: 0.995, target: 0.005 },
          writes: { source: 0, target: 1 },
        });
      },
    );

    it.skipIf(caps.splitClasses)(
      without(
        'moves reads and writes together, refuses them apart, and setting them again changes nothing',
        !caps.splitClasses,
        'routes reads and writes apart',
      ),
      async () => {
        const first = await fixture.router.setRoutes(sameForBoth({ source: 0.995, target: 0.005 }));
        expect(first.changed).toEqual(['reads', 'writes']);
        expect(first.routes).toEqual(sameForBoth({ source: 0.995, target: 0.005 }));
        const again = await fixture.router.setRoutes(sameForBoth({ source: 0.995, target: 0.005 }));
        expect(again.changed).toEqual([]);
        await expectInputError(
          fixture.router.setRoutes({ reads: { source: 0.5, target: 0.5 } }),
          'cannot route reads and writes apart',
        );
        await expectInputError(
          fixture.router.setRoutes({ reads: { target: 1 }, writes: { source: 1 } }),
          'cannot route reads and writes apart',
        );
        await fixture.router.setRoutes(sameForBoth({ target: 1 }));
        expect((await fixture.router.snapshot()).routes).toEqual(sameForBoth({ source: 0, target: 1 }));
      },
    );

    it('refuses bad weights with InputError and changes nothing', async () => {
      await fixture.router.setRoutes(sameForBoth({ source: 0.9, target: 0.1 }));
      const before = (await fixture.router.snapshot()).routes;
      await expectInputError(
        fixture.router.setRoutes({ reads: { source: 0.9, target: 0.2 } }),
        'reads: weights must sum to 1',
      );
      await expectInputError(
        fixture.router.setRoutes({ writes: { source: 1.1, target: -0.1 } }),
        'writes.target: weight -0.1 is negative',
      );
      await expectInputError(
        fixture.router.setRoutes({ reads: { source: 1 }, writes: { mars: 1 } }),
        'writes.mars: unknown site',
      );
      expect((await fixture.router.snapshot()).routes).toEqual(before);
    });

    const scale = caps.weightScale;
    it.skipIf(scale === null)(
      without(
        'refuses a weight finer than its integer scale, naming it, and changes nothing',
        scale !== null,
        'takes any fraction',
      ),
      async () => {
        const fine = 1 / ((scale ?? 1) * 2);
        const before = (await fixture.router.snapshot()).routes;
        await expectInputError(
          fixture.router.setRoutes(sameForBoth({ source: 1 - fine, target: fine })),
          `is not a whole number of 1/${scale}`,
        );
        expect((await fixture.router.snapshot()).routes).toEqual(before);
        const finest = 1 / (scale ?? 1);
        const set = await fixture.router.setRoutes(sameForBoth({ source: 1 - finest, target: finest }));
        expect(set.routes.reads.target).toBeCloseTo(finest, 9);
      },
    );

    it.skipIf(!caps.hold)(
      needs('holds and releases idempotently, and remembers the last release', caps.hold, 'cannot hold'),
      async () => {
        const held = await fixture.router.hold({ classes: ['writes'], maxHoldMs: 5000 });
        expect(held.classes).toEqual(['writes']);
        expect(Date.parse(held.deadline)).toBeGreaterThan(Date.now());
        const renewed = await fixture.router.hold({ classes: ['reads'], maxHoldMs: 5000 });
        expect(renewed.classes).toEqual(['reads', 'writes']);
        expect((await fixture.router.snapshot()).hold).toMatchObject({ active: true, classes: ['reads', 'writes'] });
        const released = await fixture.router.release();
        expect(released).toMatchObject({ wasActive: true, released: 0, pauseMs: null });
        const again = await fixture.router.release();
        expect(again).toMatchObject({ wasActive: false, released: 0, last: { reason: 'request', released: 0 } });
        expect((await fixture.router.snapshot()).hold.active).toBe(false);
        await expectInputError(fixture.router.hold({ classes: [], maxHoldMs: 100 }), 'name at least one class');
      },
    );

    it.skipIf(caps.hold)(
      without('refuses to hold, saying so, changes nothing, and has nothing to release', !caps.hold, 'can hold'),
      async () => {
        const refused = await failureOf(fixture.router.hold({ classes: ['writes'], maxHoldMs: 2000 }));
        expect(refused.code).toBe('adapter');
        expect(refused.message).toContain('cannot hold requests');
        expect((await fixture.router.snapshot()).hold).toMatchObject({ active: false, queued: 0, classes: [] });
        expect(await fixture.router.release()).toMatchObject({ wasActive: false, released: 0, pauseMs: null });
      },
    );

    it.skipIf(!caps.lagBound)(
      needs('records reported lag and refuses unknown sites', caps.lagBound, 'does not act on lag'),
      async () => {
        await fixture.router.reportLag({ target: 250 });
        expect((await fixture.router.snapshot()).lag).toEqual({ source: null, target: 250 });
        await fixture.router.reportLag({ target: null });
        expect((await fixture.router.snapshot()).lag.target).toBeNull();
        await expectInputError(fixture.router.reportLag({ pluto: 1 }), 'pluto: unknown site');
      },
    );

    it.skipIf(caps.lagBound)(
      without('accepts reported lag without acting on it, and refuses unknown sites', !caps.lagBound, 'acts on lag'),
      async () => {
        await fixture.router.setRoutes(sameForBoth({ source: 0.5, target: 0.5 }));
        await fixture.router.reportLag({ target: 250 });
        // No bound: routes stay as set, whatever the lag.
        expect((await fixture.router.snapshot()).routes).toEqual(sameForBoth({ source: 0.5, target: 0.5 }));
        await expectInputError(fixture.router.reportLag({ pluto: 1 }), 'pluto: unknown site');
      },
    );

    it.skipIf(!caps.statistics)(
      needs('reports the shares it really sent since the routes changed', caps.statistics, 'sees no requests'),
      async () => {
        await fixture.router.reportLag({ target: 0 });
        await traffic(fixture, 'reads', 50);
        await fixture.router.setRoutes({ reads: { source: 0.8, target: 0.2 } });
        await traffic(fixture, 'reads', 400);
        await traffic(fixture, 'writes', 20);
        const snapshot = await fixture.router.snapshot();
        expect(snapshot.observed.reads.requests).toBe(400);
        expect(Math.abs((snapshot.observed.reads.shares.target ?? 0) - 0.2)).toBeLessThan(0.08);
        expect(snapshot.observed.writes.shares).toEqual({ source: 1, target: 0 });
        expect(snapshot.stats.sites.source?.reads.requests).toBe(
          50 + 400 - (snapshot.stats.sites.target?.reads.requests ?? 0),
        );
        expect(snapshot.stats.sites.target?.reads.p99Ms).not.toBeNull();
      },
    );

    it.skipIf(!caps.statistics)(
      needs(
        'reports cumulative latency buckets per site and class that only grow, one pair per non-empty bucket',
        caps.statistics,
        'sees no requests',
      ),
      async () => {
        await fixture.router.reportLag({ target: 0 });
        await fixture.router.setRoutes({ reads: { source: 0.5, target: 0.5 } });
        await traffic(fixture, 'reads', 120);
        await traffic(fixture, 'writes', 30);
        const first = (await fixture.router.snapshot()).stats;
        await traffic(fixture, 'reads', 80);
        await traffic(fixture, 'writes', 20);
        const second = (await fixture.router.snapshot()).stats;
        let readsInWindow = 0;
        for (const site of ['source', 'target']) {
          for (const cls of ['reads', 'writes'] as const) {
            const before = first.sites[site]?.[cls];
            const after = second.sites[site]?.[cls];
            expect(before?.latencyBuckets, `${site}.${cls}`).toBeInstanceOf(Array);
            for (const stats of [before, after]) {
              const pairs = stats?.latencyBuckets ?? [];
              // Every answer was received, so every request has finished and has its latency counted.
              expect(
                pairs.reduce((sum, [, n]) => sum + n, 0),
                `${site}.${cls}`,
              ).toBe(stats?.requests);
              pairs.forEach(([upper, count], i) => {
                expect(upper).toBeGreaterThanOrEqual(0);
                expect(Number.isInteger(count) && count > 0).toBe(true);
                if (i > 0) expect(upper).toBeGreaterThan(pairs[i - 1]?.[0] ?? Infinity);
              });
            }
            const later = new Map(after?.latencyBuckets ?? []);
            for (const [upper, count] of before?.latencyBuckets ?? []) {
              expect(later.get(upper) ?? 0, `${site}.${cls} bucket ${upper} ms`).toBeGreaterThanOrEqual(count);
            }
            const window = latencyWindow(before?.latencyBuckets, after?.latencyBuckets ?? []);
            expect(window.reset).toBe(false);
            expect(window.count).toBe((after?.requests ?? 0) - (before?.requests ?? 0));
            if (cls === 'reads') readsInWindow += window.count;
          }
        }
        expect(readsInWindow).toBe(80);
        expect(second.sites.target?.reads.latencyBuckets.length).toBeGreaterThan(0);
        expect(second.sites.target?.writes.latencyBuckets).toEqual([]);
      },
    );
  });
}
