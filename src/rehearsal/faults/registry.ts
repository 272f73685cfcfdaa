/**
 * The injectors by fault kind, one per kind of the plan's `spec.rehearsal.faults` (an explicit
 * record: a kind without an injector does not compile). `injectFault` causes one fault through the
 * injector of its kind and returns it in place (take it away with `clear()`).
 */
import type { RehearsalFault } from '../../plan/schema.js';
import { ddlInjector } from './ddl.js';
import { httpInjector } from './http.js';
import { longTransactionInjector } from './long-transaction.js';
import { networkInjector } from './network.js';
import { passwordChangeInjector } from './password-change.js';
import { processInjector } from './process.js';
import type { ActiveFault, FaultEnvironment, FaultInjector, FaultKind } from './types.js';

export const INJECTORS: { readonly [K in FaultKind]: FaultInjector<K> } = {
  network: networkInjector,
  process: processInjector,
  http: httpInjector,
  'long-transaction': longTransactionInjector,
  ddl: ddlInjector,
  'password-change': passwordChangeInjector,
};

export function injectFault(fault: RehearsalFault, env: FaultEnvironment, signal?: AbortSignal): Promise<ActiveFault> {
  // The record pairs each kind with its injector; TypeScript cannot follow that pairing through an index.
  const injector = INJECTORS[fault.kind] as FaultInjector;
  return injector.inject(fault as never, env, signal);
}
