/**
 * The traffic plane's events. Every change of a router's state is one of these, on the run's event
 * bus (so the engine's audit trail records it) and in the router's log.
 */
import type { ReleaseRecord } from './router.js';
import type { RequestClass, Routes } from './routes.js';

declare module '../common/events.js' {
  interface EventPayloads {
    'router-started': { listen: string; admin: string | null; sites: Record<string, string> };
    'router-stopped': { reason: string };
    'router-routes-changed': { before: Routes; after: Routes; changed: RequestClass[] };
    /** A site became eligible for reads, or stopped being so, because of its reported lag. */
    'router-lag-changed': {
      site: string;
      lagMs: number | null;
      boundMs: number | null;
      readable: boolean;
    };
    'router-hold-started': { classes: RequestClass[]; maxHoldMs: number; maxQueued: number };
    'router-released': ReleaseRecord;
    /** The hold queue was full: this request (and perhaps more after it) got 503. */
    'router-queue-full': { cls: RequestClass; queued: number; maxQueued: number };
    'router-drained': { classes: RequestClass[]; drained: boolean; inFlight: number; waitedMs: number };
  }
}

export {};
