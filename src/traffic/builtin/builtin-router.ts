/**
 * The built-in router in this process: starts the proxy (and the admin API when an admin address
 * is given) and returns the server handle with a TrafficRouter that drives it directly, without
 * HTTP. The demo and the engine's tests use this; a router in another process is driven through
 * `client/http-router.ts` instead.
 */
import { BUILTIN_CAPABILITIES } from '../capabilities.js';
import type { TrafficRouter } from '../router.js';
import type { RouterCore } from './core.js';
import type { Mirror } from './mirror.js';
import type { RouterOptionsInput } from './options.js';
import { startRouterServer, type RouterServer, type RouterServerDeps } from './server.js';

export interface BuiltinRouter {
  server: RouterServer;
  router: TrafficRouter;
}

/** A TrafficRouter over a running router's core (same validation and events as the admin API); with its mirror, shadow reads too. */
export function routerFromCore(core: RouterCore, mirror?: Mirror): TrafficRouter {
  return {
    ...(mirror === undefined
      ? {}
      : {
          shadow: {
            start: async (settings) => mirror.start(settings),
            watermark: async (appliedThrough) => mirror.watermark({ appliedThrough: Math.floor(appliedThrough) }),
            status: async (after) => mirror.status(after),
            stop: () => mirror.stop(),
          },
        }),
    capabilities: BUILTIN_CAPABILITIES,
    setRoutes: (routes, options = {}) =>
      core.setRoutes({ ...routes, ...(options.drainMs === undefined ? {} : { drainMs: options.drainMs }) }),
    hold: (options) => core.startHold({ ...options }),
    release: async () => core.release(),
    reportLag: async (lag) => core.reportLag({ ...lag }),
    snapshot: async () => structuredClone(core.snapshot()),
  };
}

export async function createBuiltinRouter(
  options: RouterOptionsInput,
  deps: RouterServerDeps = {},
): Promise<BuiltinRouter> {
  const server = await startRouterServer(options, deps);
  return { server, router: routerFromCore(server.core, server.mirror) };
}
