/**
 * An in-memory TrafficRouter for engine tests: the built-in router's own decision core (same
 * validation, same hold semantics, same events), with no sockets. Tests drive traffic through it
 * with `simulate`, and can make the next call of a method fail with `failNext`.
 */
import { AdapterError, InputError } from '../../common/errors.js';
import { createEventBus, type EventBus } from '../../common/events.js';
import { createSilentLogger, type Logger } from '../../common/logger.js';
import { createFakeShadow, type FakeShadow } from '../../shadow/fake-shadow.js';
import { routerFromCore } from '../builtin/builtin-router.js';
import { createRouterCore, type RouterCore } from '../builtin/core.js';
import { resolveRouterOptions, type RouterOptionsInput } from '../builtin/options.js';
import { BUILTIN_CAPABILITIES, type RouterCapabilities } from '../capabilities.js';
import type { TrafficRouter } from '../router.js';
import { toIntegerWeights } from '../gateway-api/integer-weights.js';
import { cannotHoldMessage } from '../gateway-api/weighted-router.js';
import { applyRoutesUpdate, sameWeights, type RequestClass } from '../routes.js';

export interface FakeRouterOptions {
  /**
   * What the fake declares it can do (the built-in router's by default). Declaring a weights-only
   * router's makes it behave like one: `hold` refused, reads and writes only moved together.
   */
  capabilities?: RouterCapabilities;
  sites?: string[];
  maxReadLagMs?: number | null;
  maxQueued?: number;
  stickyAfterWriteMs?: number;
}

export interface SimulateOptions {
  cls: RequestClass;
  count: number;
  /** Latency recorded for each request (default 5 ms). */
  latencyMs?: number | ((site: string) => number);
  /** Whether a request to `site` fails (default: none do). */
  fails?: (site: string, index: number) => boolean;
}

export type FakeMethod = Exclude<keyof TrafficRouter, 'capabilities' | 'shadow'>;

export interface FakeRouter extends TrafficRouter {
  core: RouterCore;
  /** Shadow reads in memory, present when the fake declares `mirroring` (tests feed outcomes). */
  readonly shadow?: FakeShadow;
  events: EventBus;
  /** Every call made, in order, with its arguments. */
  calls: Array<{ method: FakeMethod; args: unknown[] }>;
  /** The next call of `method` throws `error` (once) and changes nothing. */
  failNext(method: FakeMethod, error: Error): void;
  /**
   * Sends `count` requests of a class through the current routes (held classes are refused, as a
   * full queue would be); returns how many each site received.
   */
  simulate(options: SimulateOptions): Record<string, number>;
}

export function createFakeRouter(
  options: FakeRouterOptions = {},
  deps: { events?: EventBus; logger?: Logger } = {},
): FakeRouter {
  const sites = options.sites ?? ['source', 'target'];
  const input: RouterOptionsInput = {
    listen: { host: '127.0.0.1', port: 0 },
    sites: Object.fromEntries(sites.map((site) => [site, `http://${site}.fake.invalid`])),
    ...(options.maxReadLagMs === undefined ? {} : { maxReadLagMs: options.maxReadLagMs }),
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
    ...(options.stickyAfterWriteMs === undefined ? {} : { stickyAfterWriteMs: options.stickyAfterWriteMs }),
  };
  const events = deps.events ?? createEventBus();
  const core = createRouterCore(resolveRouterOptions(input), { events, logger: deps.logger ?? createSilentLogger() });
  const inner = routerFromCore(core);
  const calls: FakeRouter['calls'] = [];
  const failures = new Map<FakeMethod, Error>();

  const guard =
    <A extends unknown[], R>(method: FakeMethod, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls.push({ method, args: structuredClone(args) });
      const failure = failures.get(method);
      if (failure !== undefined) {
        failures.delete(method);
        throw failure;
      }
      return fn(...args);
    };

  const capabilities = Object.freeze({ ...(options.capabilities ?? BUILTIN_CAPABILITIES) });
  const driver = 'fake weights-only';
  // A fake declaring a weights-only router's capabilities refuses what such a router refuses.
  const setRoutes: TrafficRouter['setRoutes'] = async (update, setOptions) => {
    if (!capabilities.splitClasses || capabilities.weightScale !== null) {
      const { routes } = applyRoutesUpdate(core.snapshot().routes, update, sites);
      if (!capabilities.splitClasses && !sameWeights(routes.reads, routes.writes)) {
        throw new InputError(
          `the ${driver} router cannot route reads and writes apart: give reads and writes the same weights`,
        );
      }
      if (capabilities.weightScale !== null) {
        for (const cls of ['reads', 'writes'] as const)
          toIntegerWeights(cls, routes[cls], capabilities.weightScale, driver);
      }
    }
    return inner.setRoutes(update, setOptions);
  };
  const hold: TrafficRouter['hold'] = async (holdOptions) => {
    if (!capabilities.hold) throw new AdapterError(cannotHoldMessage(driver), { details: { driver } });
    return inner.hold(holdOptions);
  };

  return {
    capabilities,
    ...(capabilities.mirroring ? { shadow: createFakeShadow() } : {}),
    core,
    events,
    calls,
    setRoutes: guard('setRoutes', setRoutes),
    hold: guard('hold', hold),
    release: guard('release', inner.release),
    reportLag: guard('reportLag', inner.reportLag),
    snapshot: guard('snapshot', inner.snapshot),
    failNext(method, error) {
      failures.set(method, error);
    },
    simulate({ cls, count, latencyMs = 5, fails }) {
      const received: Record<string, number> = Object.fromEntries(sites.map((site) => [site, 0]));
      for (let i = 0; i < count; i++) {
        if (core.hold.holds(cls)) {
          core.stats.countRejected();
          continue;
        }
        const site = core.choose(cls, null);
        received[site] = (received[site] ?? 0) + 1;
        core.stats.started(site, cls);
        const latency = typeof latencyMs === 'function' ? latencyMs(site) : latencyMs;
        core.stats.finished(site, cls, latency * 1000, fails?.(site, i) ?? false);
      }
      return received;
    },
  };
}
