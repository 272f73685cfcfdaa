/**
 * The Platform contract against the local platform: two sites of real processes (a tiny HTTP
 * server), the source already running. A site's snapshot is which workload replicas run there.
 */
import path from 'node:path';
import { openProcessRegistry } from '../../src/common/children.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { freePort } from '../../src/common/net.js';
import { createLocalPlatform, type ProcessWorkload } from '../../src/platforms/local/local-platform.js';
import { makeTempDir } from '../support/tmp.js';
import { platformContract } from './platform.contract.js';

const server = `require('node:http').createServer((q, r) => r.end(process.env.SITE)).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`;

const workload: ProcessWorkload = {
  name: 'web',
  command: process.execPath,
  args: ['-e', server],
  env: { PORT: '{{port}}', SITE: '{{site}}' },
  replicas: 2,
  readiness: { path: '/', timeout: '20s' },
  stopSignal: 'SIGTERM',
  gracePeriod: '5s',
};

platformContract('local', async () => {
  const tmp = makeTempDir('handoff-local-contract-');
  const registry = openProcessRegistry(path.join(tmp.dir, 'processes.json'));
  const make = async (site: 'source' | 'target') =>
    createLocalPlatform({
      site,
      stateDir: tmp.dir,
      processes: [workload],
      endpoint: `http://127.0.0.1:${await freePort()}`,
      databases: {},
      registry,
    });
  const source = await make('source');
  const target = await make('target');
  await source.provision({ runId: 'setup', logger: createSilentLogger() });
  const running = (site: 'source' | 'target') =>
    registry
      .records()
      .filter((r) => r.name.startsWith(`${site}/`))
      .map((r) => r.name)
      .sort();
  return {
    source,
    target,
    snapshot: async (site) => running(site),
    leftovers: async () => running('target'),
    async close() {
      await source.teardown({ runId: 'setup', logger: createSilentLogger() });
      await target.teardown({ runId: 'setup', logger: createSilentLogger() });
      await registry.stopAll(2000);
      tmp.cleanup();
    },
  };
});
