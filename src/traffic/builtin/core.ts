/**
 * The router's state and decisions, without any HTTP: routes and their pickers, reported lag,
 * the hold queue, statistics, and the events every change emits. The proxy asks it where each
 * request goes; the admin API and the in-process adapter change it. Inputs are validated here, so
 * both doors refuse the same things with the same words.
 */
import { z } from 'zod';
import { InputError } from '../../common/errors.js';
import type { EventBus, EventPayloads, EventType } from '../../common/events.js';
import type { Logger } from '../../common/logger.js';
import '../events.js';
import type { HoldResult, ReleaseResult, RouterSnapshot, SetRoutesResult } from '../router.js';
import {
  allTo,
  applyRoutesUpdate,
  describeZodError,
  REQUEST_CLASSES,
  type RequestClass,
  type Routes,
} from '../routes.js';
import { createClassifier, type Classifier } from './classify.js';
import { createHoldQueue, type HoldQueue, type HoldQueueDeps } from './hold-queue.js';
import type { RouterOptions } from './options.js';
import { createPicker, type Picker } from './picker.js';
import { createStatsStore, type StatsStore } from './stats.js';

export interface RouterCore {
  readonly options: RouterOptions;
  readonly sites: string[];
  readonly siteSet: ReadonlySet<string>;
  readonly stats: StatsStore;
  readonly hold: HoldQueue;
  readonly classifier: Classifier;
  readonly events: EventBus;
  /** The site for a new request of `cls`; `sticky` is the site named by the client's cookie. */
  choose(cls: RequestClass, sticky: string | null): string;
  /** Another site that takes `cls`, for the one retry after a connect failure; null if none. */
  alternative(cls: RequestClass, failed: string): string | null;
  setRoutes(input: unknown): Promise<SetRoutesResult>;
  startHold(input: unknown): Promise<HoldResult>;
  /** Releases the hold; resolves once the released requests are answered (at most RELEASE_ANSWER_WAIT_MS). */
  release(): Promise<ReleaseResult>;
  reportLag(input: unknown): void;
  routes(): Routes;
  snapshot(): RouterSnapshot;
  /** The state document of `GET /v1/state`. */
  state(): { routes: Routes; hold: RouterSnapshot['hold']; lag: Record<string, number | null> };
  close(): void;
}

const holdSchema = z.strictObject({
  classes: z.array(z.enum(REQUEST_CLASSES)).min(1, { error: 'name at least one class: reads or writes' }),
  maxHoldMs: z.number().int().min(1),
  maxQueued: z.number().int().min(0).optional(),
  drainMs: z.number().int().min(0).max(600_000).optional(),
});

const lagSchema = z.record(z.string(), z.number().min(0, { error: 'lag must be 0 or more milliseconds' }).nullable());

export interface RouterCoreDeps {
  events: EventBus;
  logger: Logger;
  now?: () => number;
  /** The release's timers (hold-queue.ts); the defaults, except in tests that must not race them. */
  hold?: Pick<HoldQueueDeps, 'slotMs' | 'spreadMs'>;
}

/** The longest `release` waits for the released requests to be answered. */
export const RELEASE_ANSWER_WAIT_MS = 5000;

export function createRouterCore(options: RouterOptions, deps: RouterCoreDeps): RouterCore {
  const now = deps.now ?? Date.now;
  const { events, logger } = deps;
  const sites = Object.keys(options.sites);
  const siteSet = new Set(sites);
  const first = sites.includes('source') ? 'source' : (sites[0] as string);
  let routes: Routes = { reads: allTo(first, sites), writes: allTo(first, sites) };
  const pickers: Record<RequestClass, Picker> = {
    reads: createPicker(routes.reads),
    writes: createPicker(routes.writes),
  };
  const lag: Record<string, number | null> = {};
  for (const site of sites) lag[site] = null;
  const stats = createStatsStore(sites, now);
  const emit = <T extends EventType>(type: T, data: EventPayloads[T], subject: string): void => {
    events.emit(type, data, { actor: 'router', subject });
    logger.info(type, { ...(data as object) });
  };
  const hold = createHoldQueue({
    now,
    releaseConcurrency: options.releaseConcurrency,
    ...deps.hold,
    onRelease: (record) => emit('router-released', record, 'hold'),
    onFull: (cls, queued, maxQueued) => {
      logger.warn('hold queue full; answering 503 with Retry-After', { cls, queued, maxQueued });
      events.emit('router-queue-full', { cls, queued, maxQueued }, { actor: 'router', subject: 'hold' });
    },
  });
  const classifier = createClassifier(options);
  const bound = options.maxReadLagMs;

  const lagOk = (site: string): boolean => {
    if (bound === null) return true;
    const value = lag[site];
    return value !== null && value !== undefined && value <= bound;
  };
  const readable = (site: string): boolean => (routes.writes[site] ?? 0) > 0 || lagOk(site);

  const core: RouterCore = {
    options,
    sites,
    siteSet,
    stats,
    hold,
    classifier,
    events,
    choose(cls, sticky) {
      if (cls === 'writes') return pickers.writes.pick() ?? first;
      if (sticky !== null) return sticky;
      // Reads go to sites that are current enough; when none is, to the writers (always current).
      return pickers.reads.pick(readable) ?? pickers.writes.pick() ?? first;
    },
    alternative(cls, failed) {
      const weights = routes[cls];
      let best: string | null = null;
      for (const site of sites) {
        if (site === failed || (weights[site] ?? 0) <= 0) continue;
        if (cls === 'reads' && !readable(site)) continue;
        if (best === null || (weights[site] ?? 0) > (weights[best] ?? 0)) best = site;
      }
      if (best === null && cls === 'reads') {
        for (const site of sites) if (site !== failed && (routes.writes[site] ?? 0) > 0) return site;
      }
      return best;
    },
    async setRoutes(input) {
      const before = routes;
      const { routes: after, drainMs, changed } = applyRoutesUpdate(routes, input, sites);
      routes = after;
      const losing = new Set<string>();
      for (const cls of changed) {
        pickers[cls].setWeights(after[cls]);
        for (const site of sites) if ((after[cls][site] ?? 0) < (before[cls][site] ?? 0)) losing.add(site);
      }
      if (changed.length > 0) {
        stats.resetObserved(changed, now());
        emit('router-routes-changed', { before, after, changed }, 'routes');
      }
      const drain = await stats.waitForDrain(changed, [...losing], drainMs ?? 0);
      if (drainMs !== undefined && changed.length > 0) emit('router-drained', { classes: changed, ...drain }, 'routes');
      return { routes: after, changed, drain };
    },
    async startHold(input) {
      const parsed = holdSchema.safeParse(input);
      if (!parsed.success) throw new InputError(describeZodError(parsed.error));
      const { classes, maxHoldMs, drainMs } = parsed.data;
      if (maxHoldMs > options.maxHoldLimitMs) {
        throw new InputError(`maxHoldMs: ${maxHoldMs} is above this router's limit of ${options.maxHoldLimitMs} ms`);
      }
      const maxQueued = parsed.data.maxQueued ?? options.maxQueued;
      const { deadline } = hold.start({ classes, maxHoldMs, maxQueued });
      emit('router-hold-started', { classes, maxHoldMs, maxQueued }, 'hold');
      const drain = await stats.waitForDrain(classes, undefined, drainMs ?? 0);
      if (drainMs !== undefined) emit('router-drained', { classes, ...drain }, 'hold');
      return { classes: hold.state().classes, deadline: new Date(deadline).toISOString(), drain };
    },
    async release() {
      const record = hold.release('request');
      // Answers once the released requests are answered (bounded): whoever released them (the
      // cutover) acts again only after the site has taken them.
      const drain = await hold.answered(RELEASE_ANSWER_WAIT_MS);
      return {
        wasActive: record !== null,
        released: record?.released ?? 0,
        pauseMs: record?.pauseMs ?? null,
        last: hold.state().lastRelease,
        drain,
      };
    },
    reportLag(input) {
      const parsed = lagSchema.safeParse(input);
      if (!parsed.success) throw new InputError(describeZodError(parsed.error));
      const unknown = Object.keys(parsed.data).filter((site) => !siteSet.has(site));
      if (unknown.length > 0) {
        throw new InputError(`${unknown.join(', ')}: unknown site; known sites: ${sites.join(', ')}`);
      }
      for (const [site, value] of Object.entries(parsed.data)) {
        const wasOk = lagOk(site);
        const wasKnown = lag[site] !== null;
        lag[site] = value;
        if (wasOk !== lagOk(site) || wasKnown !== (value !== null)) {
          emit('router-lag-changed', { site, lagMs: value, boundMs: bound, readable: lagOk(site) }, site);
        }
      }
    },
    routes: () => routes,
    state: () => ({ routes, hold: hold.state(), lag: { ...lag } }),
    snapshot: () => ({
      sites: [...sites],
      routes,
      hold: hold.state(),
      lag: { ...lag },
      stats: stats.snapshot(),
      observed: stats.observed(),
    }),
    close() {
      hold.close();
    },
  };
  return core;
}
