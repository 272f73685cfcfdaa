/**
 * The network fault, on one path through the rehearsal's fault proxy (`env.proxyFor[path]`): with a
 * toxic, that toxic is added under a name of its own (`rehearsal-<fault>-<n>`, so two faults on a
 * path never collide) and removed at clear; without one, the path is taken down (the proxy
 * disabled: its listener closed, its connections ended, new ones refused) and brought up again at
 * clear. Overlapping outages of one path are counted: the path comes up when the last is cleared.
 */
import { HandoffError, InputError, AdapterError } from '../../common/errors.js';
import type { FaultProxy } from '../../faultproxy/fault-proxy.js';
import { once } from './once.js';
import type { ActiveFault, FaultInjector } from './types.js';

/** Outages in place per proxy of each fault proxy (a path is up again when its count is back to 0). */
const outages = new WeakMap<FaultProxy, Map<string, number>>();
let toxicCounter = 0;

function injectionFailed(what: string, error: unknown): HandoffError {
  if (error instanceof InputError) return error;
  return new AdapterError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
    retryable: true,
  });
}

export const networkInjector: FaultInjector<'network'> = {
  kind: 'network',
  async inject(fault, env, signal) {
    signal?.throwIfAborted();
    const proxyName = env.proxyFor[fault.path];
    const faults = env.faultProxy;
    if (!faults || proxyName === undefined) {
      throw new InputError(
        `network fault "${fault.name}": path ${fault.path} does not go through a fault proxy in this rehearsal; give a path the rehearsal proxies`,
      );
    }
    try {
      faults.proxy(proxyName);
    } catch (error) {
      throw new InputError(
        `network fault "${fault.name}": the fault proxy has no proxy "${proxyName}" for path ${fault.path}`,
        {
          cause: error,
        },
      );
    }
    const where = `${fault.path} (proxy ${proxyName})`;

    if (fault.toxic) {
      const { type, stream, toxicity, attributes } = fault.toxic;
      const name = `rehearsal-${fault.name}-${++toxicCounter}`;
      try {
        faults.addToxic(proxyName, { name, type, stream, toxicity, attributes });
      } catch (error) {
        throw injectionFailed(`network fault "${fault.name}": adding a ${type} toxic on ${where}`, error);
      }
      const shown = Object.entries(attributes)
        .map(([key, value]) => `${key} ${value}`)
        .join(', ');
      env.logger.info('network fault: toxic added', { fault: fault.name, path: fault.path, toxic: name });
      const clear = once(() => {
        try {
          faults.removeToxic(proxyName, name);
        } catch (error) {
          // Gone already (the fault proxy was reset or the proxy removed): nothing left to clear.
          if (!(error instanceof HandoffError && error.code === 'not-found')) {
            return Promise.reject(injectionFailed(`removing toxic ${name} from ${where}`, error));
          }
        }
        env.logger.info('network fault: toxic removed', { fault: fault.name, path: fault.path, toxic: name });
        return Promise.resolve();
      });
      const share = toxicity < 1 ? `, toxicity ${toxicity}` : '';
      return {
        detail: `${type} ${stream}${shown ? ` (${shown})` : ''}${share} on ${where}, toxic ${name}; removed at clear`,
        clear,
      } satisfies ActiveFault;
    }

    const counts = outages.get(faults) ?? new Map<string, number>();
    outages.set(faults, counts);
    counts.set(proxyName, (counts.get(proxyName) ?? 0) + 1);
    try {
      await faults.setEnabled(proxyName, false);
    } catch (error) {
      counts.set(proxyName, (counts.get(proxyName) ?? 1) - 1);
      throw injectionFailed(`network fault "${fault.name}": taking ${where} down`, error);
    }
    env.logger.info('network fault: path down', { fault: fault.name, path: fault.path });
    let released = false;
    const clear = once(async () => {
      if (!released) {
        released = true;
        counts.set(proxyName, Math.max(0, (counts.get(proxyName) ?? 1) - 1));
      }
      if ((counts.get(proxyName) ?? 0) > 0) return;
      try {
        await faults.setEnabled(proxyName, true);
      } catch (error) {
        if (error instanceof HandoffError && error.code === 'not-found') return;
        throw injectionFailed(`bringing ${where} up again`, error);
      }
      env.logger.info('network fault: path up', { fault: fault.name, path: fault.path });
    });
    return { detail: `${where} down (proxy disabled: connections ended and refused); up at clear`, clear };
  },
};
