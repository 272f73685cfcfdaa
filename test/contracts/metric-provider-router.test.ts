/**
 * The router provider against the real built-in router: two real upstream servers behind it,
 * requests sent through the proxy, statistics read over the admin API (and in-process).
 */
import { request } from 'undici';
import { createRouterProvider } from '../../src/analysis/providers/router.js';
import { routerStatsOverHttp, routerStatsSchema } from '../../src/analysis/providers/router-stats.js';
import { createRedactor } from '../../src/common/redact.js';
import { createBuiltinRouter, type BuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';
import { startHangingServer, startHttpServer, unreachableUrl, type TestServer } from '../analysis/http-server.js';
import { metricProviderContract } from './metric-provider.shared.js';

const token = 'router-admin-token-0123456789';
let source: TestServer;
let target: TestServer;
let hanging: TestServer;
let builtin: BuiltinRouter;
let unreachable: string;

async function send(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${builtin.server.proxyUrl}/item/${i}`);
    await res.body.text();
  }
}

metricProviderContract('router (admin API of the built-in router)', {
  async setup() {
    source = await startHttpServer((_req, res) => res.end('source'));
    target = await startHttpServer((req, res) => {
      res.statusCode = req.url?.endsWith('7') ? 500 : 200;
      res.end('target');
    });
    hanging = await startHangingServer();
    unreachable = await unreachableUrl();
    builtin = await createBuiltinRouter({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      adminToken: token,
      sites: { source: source.url, target: target.url },
      maxReadLagMs: null,
    });
    await builtin.router.setRoutes({ reads: { source: 0.5, target: 0.5 } });
  },
  async teardown() {
    await builtin.server.close(1000);
    await Promise.all([source.close(), target.close(), hanging.close()]);
  },
  healthy: () =>
    createRouterProvider({
      stats: routerStatsOverHttp({ adminUrl: builtin.server.adminUrl!, token }, { redactor: createRedactor() }),
      reuseMs: 0,
    }),
  produce: () => send(60),
  unreachable: () =>
    createRouterProvider({ stats: routerStatsOverHttp({ adminUrl: unreachable, token, timeoutMs: 1000 }) }),
  hanging: () => createRouterProvider({ stats: routerStatsOverHttp({ adminUrl: hanging.url, token, timeoutMs: 300 }) }),
  hangTimeoutMs: 300,
  secrets: [token],
  omitted: {
    empty:
      'the harness always sends traffic; no requests in the window is NoData, tested in src/analysis/providers/router.test.ts',
  },
});

metricProviderContract('router (in-process built-in router)', {
  async setup() {
    source = await startHttpServer((_req, res) => res.end('source'));
    target = await startHttpServer((_req, res) => res.end('target'));
    builtin = await createBuiltinRouter({
      listen: { host: '127.0.0.1', port: 0 },
      sites: { source: source.url, target: target.url },
      maxReadLagMs: null,
    });
    await builtin.router.setRoutes({ reads: { source: 0.5, target: 0.5 } });
  },
  async teardown() {
    await builtin.server.close(1000);
    await Promise.all([source.close(), target.close()]);
  },
  healthy: () =>
    createRouterProvider({
      stats: async () => routerStatsSchema.parse((await builtin.router.snapshot()).stats),
      reuseMs: 0,
    }),
  produce: () => send(60),
  unreachable: () =>
    createRouterProvider({
      stats: async () => {
        throw new Error('the router process is gone');
      },
    }),
  omitted: {
    empty:
      'the harness always sends traffic; no requests in the window is NoData, tested in src/analysis/providers/router.test.ts',
    hanging: 'an in-process router answers from memory: nothing can hang',
  },
});
