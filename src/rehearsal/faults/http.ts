/**
 * The HTTP fault: a share of 503 answers and added latency at one site's service, set on that
 * site's HTTP fault shim (`env.httpShim[site]`, see http-shim.ts) and taken off at clear.
 * Overlapping HTTP faults on one site combine while both are in place (their latencies add up,
 * their error shares combine as independent failures: 1 - (1 - a)(1 - b)); clearing one leaves the
 * others in place.
 */
import { InputError } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';
import { once } from './once.js';
import type { ActiveFault, FaultInjector, HttpFaultShim } from './types.js';

interface Spoil {
  errorRate: number;
  latencyMs: number;
}

/** The faults in place on each shim. */
const inPlace = new WeakMap<HttpFaultShim, Set<Spoil>>();

function apply(shim: HttpFaultShim, spoils: ReadonlySet<Spoil>): void {
  if (spoils.size === 0) return shim.clear();
  let passing = 1;
  let latencyMs = 0;
  for (const spoil of spoils) {
    passing *= 1 - spoil.errorRate;
    latencyMs += spoil.latencyMs;
  }
  shim.set({ errorRate: 1 - passing, latencyMs });
}

export const httpInjector: FaultInjector<'http'> = {
  kind: 'http',
  inject(fault, env, signal) {
    signal?.throwIfAborted();
    const shim = env.httpShim[fault.site];
    if (!shim) {
      return Promise.reject(
        new InputError(
          `http fault "${fault.name}": the ${fault.site} service has no HTTP fault shim in this rehearsal; give a site whose service is behind one`,
        ),
      );
    }
    const spoil: Spoil = {
      errorRate: fault.errorRate,
      latencyMs: fault.latency === undefined ? 0 : parseDuration(fault.latency),
    };
    const spoils = inPlace.get(shim) ?? new Set<Spoil>();
    inPlace.set(shim, spoils);
    spoils.add(spoil);
    apply(shim, spoils);
    env.logger.info('http fault: set', { fault: fault.name, site: fault.site, ...spoil });
    const clear = once(() => {
      spoils.delete(spoil);
      apply(shim, spoils);
      env.logger.info('http fault: cleared', { fault: fault.name, site: fault.site });
      return Promise.resolve();
    });
    const parts = [
      ...(spoil.errorRate > 0 ? [`${+(spoil.errorRate * 100).toFixed(2)} % of requests answered 503`] : []),
      ...(spoil.latencyMs > 0 ? [`${spoil.latencyMs} ms added to every answer`] : []),
    ];
    const what = parts.length > 0 ? parts.join(', ') : 'nothing spoiled (errorRate 0, no latency)';
    return Promise.resolve({
      detail: `${what} at the ${fault.site} service (HTTP fault shim ${shim.url}); off at clear`,
      clear,
    } satisfies ActiveFault);
  },
};
