/**
 * The injectors by fault kind. `injectFault` causes one fault of a plan's `spec.rehearsal.faults`
 * through the injector of its kind and returns it in place (clear it with `clear()`).
 */
import { AdapterError } from '../../common/errors.js';
import type { RehearsalFault } from '../../plan/schema.js';
import { ddlInjector } from './ddl.js';
import { httpInjector } from './http.js';
import { longTransactionInjector } from './long-transaction.js';
import { networkInjector } from './network.js';
import { processInjector } from './process.js';
import type { ActiveFault, FaultEnvironment, FaultInjector, FaultKind } from './types.js';

const injectors: { [K in FaultKind]?: FaultInjector<K> } = {
  process: processInjector,
  network: networkInjector,
  http: httpInjector,
  'long-transaction': longTransactionInjector,
  ddl: ddlInjector,
};

export function injectFault(fault: RehearsalFault, env: FaultEnvironment, signal?: AbortSignal): Promise<ActiveFault> {
  const injector = injectors[fault.kind] as FaultInjector | undefined;
  if (!injector) {
    return Promise.reject(new AdapterError(`fault "${fault.name}": no injector for faults of kind ${fault.kind} yet`));
  }
  return injector.inject(fault as never, env, signal);
}
