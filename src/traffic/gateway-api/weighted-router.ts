/**
 * A TrafficRouter that only sets weights, over a store of integer weights kept in cluster objects
 * (an HTTPRoute's backendRefs, or external-dns weighted records). What sits in the request path
 * (a Gateway, DNS resolvers) sees requests, not request classes, so reads and writes move
 * together; it cannot queue requests, so `hold` is refused and the cutover refuses writes briefly
 * instead; it cannot keep read-after-write, so reported lag is ignored. The routes it reports are
 * always the ones read back from the cluster, never a remembered copy.
 */
import { AdapterError, InputError } from '../../common/errors.js';
import type { EventBus } from '../../common/events.js';
import type { Logger } from '../../common/logger.js';
import type { WeightsOnlyCapabilities } from '../capabilities.js';
import type { ClassStats, RouterSnapshot, SetRoutesResult, TrafficRouter } from '../router.js';
import { applyRoutesUpdate, sameWeights, type RequestClass, type Routes } from '../routes.js';
import '../events.js';
import { fromIntegerWeights, sameIntegerWeights, toIntegerWeights, type IntegerWeights } from './integer-weights.js';

/** Where the integer weights live. */
export interface WeightStore {
  /** The integer weights in force now, one per site. */
  read(): Promise<IntegerWeights>;
  /** Writes new integer weights; called only when they differ from `current` (just read). */
  write(next: IntegerWeights, current: IntegerWeights): Promise<void>;
}

export interface WeightedRouterOptions {
  /** `gateway-api` or `dns`: named in every message. */
  driver: string;
  /**
   * What the driver can do: weights only (no hold, no class split, no statistics); `weightScale` is
   * what the weights are out of (1000 for an HTTPRoute, 200 for Route 53's 0-255 weights).
   */
  capabilities: WeightsOnlyCapabilities;
  sites: readonly string[];
}

export interface WeightedRouterDeps {
  store: WeightStore;
  events: EventBus;
  logger: Logger;
}

export function cannotHoldMessage(driver: string): string {
  return `the ${driver} driver cannot hold requests; the cutover refuses writes briefly instead`;
}

function emptyStats(): ClassStats {
  return { requests: 0, errors: 0, inFlight: 0, p50Ms: null, p99Ms: null, latencyBuckets: [] };
}

export function createWeightedRouter(options: WeightedRouterOptions, deps: WeightedRouterDeps): TrafficRouter {
  const { driver, capabilities, sites } = options;
  const scale = capabilities.weightScale;
  const routesOf = (weights: IntegerWeights): Routes => {
    const fractions = fromIntegerWeights(weights);
    return { reads: { ...fractions }, writes: { ...fractions } };
  };
  let lastChange = new Date().toISOString();

  return {
    capabilities,
    async setRoutes(update, setOptions) {
      const current = await deps.store.read();
      const before = routesOf(current);
      const { routes } = applyRoutesUpdate(before, update, sites);
      if (!sameWeights(routes.reads, routes.writes)) {
        throw new InputError(
          `the ${driver} driver cannot route reads and writes apart (it weighs requests, not request classes): give reads and writes the same weights; a plan using it moves reads and writes together`,
        );
      }
      const next = toIntegerWeights('reads', routes.reads, scale, driver);
      // Requests in flight are the data plane's to drain (a Gateway or a resolver); this driver cannot see them.
      const drain = { drained: setOptions?.drainMs === undefined, inFlight: 0, waitedMs: 0 };
      if (sameIntegerWeights(current, next)) return { routes: before, changed: [], drain } satisfies SetRoutesResult;
      await deps.store.write(next, current);
      const after = routesOf(next);
      const changed: RequestClass[] = (['reads', 'writes'] as const).filter(
        (cls) => !sameWeights(before[cls], after[cls]),
      );
      lastChange = new Date().toISOString();
      deps.events.emit('router-routes-changed', { before, after, changed });
      deps.logger.info('weights written', { driver, weights: next, scale });
      return { routes: after, changed, drain };
    },
    async hold() {
      throw new AdapterError(cannotHoldMessage(driver), { details: { driver } });
    },
    async release() {
      // Nothing is ever held, so there is nothing to release.
      return { wasActive: false, released: 0, pauseMs: null, last: null };
    },
    async reportLag(lag) {
      const unknown = Object.keys(lag).filter((site) => !sites.includes(site));
      if (unknown.length > 0)
        throw new InputError(`${unknown.join(', ')}: unknown site; known sites: ${sites.join(', ')}`);
      // Accepted and ignored: the driver cannot keep reads off a lagging site (preflight says so).
    },
    async snapshot(): Promise<RouterSnapshot> {
      const routes = routesOf(await deps.store.read());
      const perSite = Object.fromEntries(sites.map((site) => [site, { reads: emptyStats(), writes: emptyStats() }]));
      return {
        sites: [...sites],
        routes,
        hold: { active: false, classes: [], queued: 0, since: null, deadline: null, lastRelease: null },
        lag: Object.fromEntries(sites.map((site) => [site, null])),
        stats: { sites: perSite, held: 0, rejected: 0, retries: 0 },
        // The driver sees no requests: observed shares are unknown, so they are reported as empty.
        observed: {
          reads: { since: lastChange, requests: 0, shares: {} },
          writes: { since: lastChange, requests: 0, shares: {} },
        },
      };
    },
  };
}
