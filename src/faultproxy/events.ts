/**
 * The fault proxy's events: every change of its proxies and toxics, on the event bus it is given
 * (a rehearsal's run bus, so the audit trail and the rehearsal report see when a fault began and
 * ended). Connections themselves are not events (there may be thousands).
 */
import type { ToxicSpec } from './toxic-spec.js';

declare module '../common/events.js' {
  interface EventPayloads {
    'faultproxy-proxy-added': { proxy: string; listen: string; upstream: string; enabled: boolean };
    'faultproxy-proxy-removed': { proxy: string };
    /** The proxy was taken down (listener closed, connections ended) or brought back up. */
    'faultproxy-proxy-enabled': { proxy: string; enabled: boolean };
    'faultproxy-toxic-added': { proxy: string; toxic: ToxicSpec };
    'faultproxy-toxic-updated': { proxy: string; toxic: ToxicSpec };
    'faultproxy-toxic-removed': { proxy: string; toxic: string };
    /** Every proxy enabled, every toxic removed. */
    'faultproxy-reset': { proxies: string[] };
  }
}

export {};
