/**
 * The metric provider interface (compare Argo Rollouts' `Provider`: Run / Resume / Terminate).
 * One instance measures one source of metrics for both sites. Implementations live in
 * `providers/<kind>.ts`, each made by `createXxxProvider(options, deps)`.
 *
 * Idempotency:
 * - `start` takes whatever baseline the provider needs (router counters, background probes).
 *   Calling it again while started does nothing.
 * - `measure` only reads the systems it measures; it never changes them. Calling it twice in a row
 *   returns two readings of (nearly) the same window. It does not throw for a failed measurement:
 *   an unreachable backend is an Error reading, an empty result a NoData reading. It throws only
 *   when called before `start` or after `stop` (a bug in the caller).
 * - `stop` ends background work and releases connections. Calling it again does nothing.
 * Every call is bounded in time (the provider's own timeout, and `request.signal`).
 */
import type { Measurement, MeasureRequest } from './measurement.js';

export const PROVIDER_KINDS = ['router', 'prometheus', 'http', 'sql', 'webhook', 'fake'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface MetricProvider {
  readonly kind: ProviderKind;
  /** Value fields this provider returns in `SiteValues.values` (for example `error_rate`). */
  readonly fields: readonly string[];
  start(): Promise<void>;
  measure(request: MeasureRequest): Promise<Measurement>;
  stop(): Promise<void>;
}
