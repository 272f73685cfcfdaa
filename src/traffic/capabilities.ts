/**
 * What a traffic router can do. Every TrafficRouter declares its capabilities, and the planner and
 * preflight read them instead of asking which kind of router a plan names: a router that cannot
 * hold makes the cutover refuse writes briefly, one that cannot route reads and writes apart makes
 * the read shift impossible, integer weights limit the steps a plan may use.
 *
 * `capabilitiesOf(spec)` answers before any router is built (the planner is pure); each router
 * object answers the same through `router.capabilities` (the contract suite checks they agree).
 * This module loads no driver code, so the planner can import it cheaply.
 */
import type { Migration } from '../plan/schema.js';

export interface RouterCapabilities {
  /** Can queue new requests during the cutover and release them to the new writer (`hold`/`release`). */
  hold: boolean;
  /** Keeps a client's reads on the site that took its write for a while (a cookie). */
  readAfterWrite: boolean;
  /** Keeps reads off a site whose reported lag is unknown or over a bound (`reportLag` is acted on). */
  lagBound: boolean;
  /**
   * How finely weights can be set: `null` for any fraction (0.005 = 0.5 % is fine), otherwise
   * weights are integers out of this number (1000 for an HTTPRoute: the finest step is 0.1 %).
   */
  weightScale: number | null;
  /** Routes reads and writes with separate weights (reads can move first). */
  splitClasses: boolean;
  /** Sees the requests: per-site statistics, latency and observed shares in `snapshot()`. */
  statistics: boolean;
  /** Copies reads to the target without answering from it and compares the answers (shadow reads, `router.shadow`). */
  mirroring: boolean;
}

/** The built-in proxy, in this process or over its admin API. */
export const BUILTIN_CAPABILITIES: Readonly<RouterCapabilities> = Object.freeze({
  hold: true,
  readAfterWrite: true,
  lagBound: true,
  weightScale: null,
  splitClasses: true,
  statistics: true,
  mirroring: true,
});

/** Capabilities of a router that only writes integer weights (out of `weightScale`). */
export type WeightsOnlyCapabilities = Readonly<RouterCapabilities & { weightScale: number }>;

/** A router that only writes integer weights into cluster objects (an HTTPRoute, DNS records). */
export function weightsOnlyCapabilities(weightScale: number): WeightsOnlyCapabilities {
  return Object.freeze({
    hold: false,
    readAfterWrite: false,
    lagBound: false,
    weightScale,
    splitClasses: false,
    statistics: false,
    mirroring: false,
  });
}

/** HTTPRoute backendRef weights are written out of 1000: 0.1 % is the finest step. */
export const GATEWAY_API_SCALE = 1000;
/** Route 53 weights go up to 255, so DNS weights are written out of 200: 0.5 % is the finest step. */
export const DNS_SCALE = 200;

export const GATEWAY_API_CAPABILITIES = weightsOnlyCapabilities(GATEWAY_API_SCALE);
export const DNS_CAPABILITIES = weightsOnlyCapabilities(DNS_SCALE);

export type RouterKind = NonNullable<Migration['spec']['traffic']>['router']['kind'];

/** Capabilities by router kind: an explicit record, so a new kind must declare its own. */
export const capabilitiesByKind: Record<RouterKind, Readonly<RouterCapabilities>> = {
  builtin: BUILTIN_CAPABILITIES,
  'gateway-api': GATEWAY_API_CAPABILITIES,
  dns: DNS_CAPABILITIES,
};

/** The capabilities of the plan's router, without building it; null when the plan has no traffic section. */
export function capabilitiesOf(spec: Migration['spec']): Readonly<RouterCapabilities> | null {
  const kind = spec.traffic?.router.kind;
  return kind === undefined ? null : capabilitiesByKind[kind];
}

/** What a router lacks, in words (preflight messages, docs, `handoff explain`). Empty for the built-in router. */
export function missingCapabilities(capabilities: RouterCapabilities): string[] {
  const missing: string[] = [];
  if (!capabilities.hold)
    missing.push('cannot hold requests: the cutover refuses writes briefly instead of queueing them');
  if (!capabilities.readAfterWrite)
    missing.push('cannot keep read-after-write: a client may read from the other site right after a write');
  if (!capabilities.lagBound) missing.push('cannot keep reads off a lagging site: reported replication lag is ignored');
  if (!capabilities.splitClasses) missing.push('cannot route reads and writes apart: reads and writes move together');
  if (!capabilities.statistics)
    missing.push('sees no requests: gates need metrics from elsewhere (Prometheus, HTTP probes)');
  if (capabilities.weightScale !== null) {
    missing.push(
      `weights are integers out of ${capabilities.weightScale}: the finest step is ${100 / capabilities.weightScale} %`,
    );
  }
  return missing;
}
