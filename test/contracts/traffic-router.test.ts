import { Pool } from 'undici';
import { BUILTIN_CAPABILITIES, GATEWAY_API_CAPABILITIES } from '../../src/traffic/capabilities.js';
import { createBuiltinRouter } from '../../src/traffic/builtin/builtin-router.js';
import { createHttpRouter } from '../../src/traffic/client/http-router.js';
import { createFakeRouter } from '../../src/traffic/fake/fake-router.js';
import type { RequestClass } from '../../src/traffic/routes.js';
import { startSite } from '../traffic/support/sites.js';
import { describeTrafficRouterContract, type TrafficRouterFixture } from './traffic-router.shared.js';

const TOKEN = 'contract-router-token-1234567890';

describeTrafficRouterContract('in-memory fake', BUILTIN_CAPABILITIES, async () => {
  const fake = createFakeRouter();
  return {
    router: fake,
    traffic: async (cls, count) => void fake.simulate({ cls, count }),
    close: async () => undefined,
  };
});

// The fake declaring a weights-only router's capabilities behaves like one (engine tests use it so).
describeTrafficRouterContract('in-memory weights-only fake', GATEWAY_API_CAPABILITIES, async () => {
  const fake = createFakeRouter({ capabilities: GATEWAY_API_CAPABILITIES });
  return { router: fake, close: async () => undefined };
});

async function realRouter(overHttp: boolean): Promise<TrafficRouterFixture> {
  const source = await startSite('source');
  const target = await startSite('target');
  const built = await createBuiltinRouter({
    listen: { host: '127.0.0.1', port: 0 },
    admin: overHttp ? { host: '127.0.0.1', port: 0 } : null,
    adminToken: TOKEN,
    sites: { source: source.url, target: target.url },
    stickyAfterWriteMs: 0,
  });
  const client = overHttp ? createHttpRouter({ adminUrl: built.server.adminUrl ?? '', token: TOKEN }) : null;
  const pool = new Pool(built.server.proxyUrl, { connections: 8 });
  const traffic = async (cls: RequestClass, count: number): Promise<void> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          next += 1;
          const response = await pool.request({
            method: cls === 'reads' ? 'GET' : 'POST',
            path: '/c',
            body: cls === 'reads' ? undefined : 'x',
          });
          await response.body.text();
        }
      }),
    );
  };
  return {
    router: client ?? built.router,
    traffic,
    async close() {
      await pool.close();
      await client?.close();
      await built.server.close(1000);
      await source.close();
      await target.close();
    },
  };
}

describeTrafficRouterContract('built-in router, in-process', BUILTIN_CAPABILITIES, () => realRouter(false));
describeTrafficRouterContract('built-in router, over its admin API', BUILTIN_CAPABILITIES, () => realRouter(true));
