import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, openProcessRegistry } from '../../common/children.js';
import { createSilentLogger } from '../../common/logger.js';
import { freePort } from '../../common/net.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { createLocalPlatform, type ProcessWorkload } from './local-platform.js';

const serverScript = `
const http = require('node:http');
const port = Number(process.env.PORT);
if (process.env.FAIL_AT_START) process.exit(7);
http.createServer((req, res) => res.end(JSON.stringify({ site: process.env.SITE, db: process.env.DB, replica: process.env.REPLICA }))).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

function workload(overrides: Partial<ProcessWorkload> = {}): ProcessWorkload {
  return {
    name: 'web',
    command: process.execPath,
    args: ['-e', serverScript],
    env: { PORT: '{{port}}', SITE: '{{site}}', DB: '{{db.orders}}', REPLICA: '{{replica}}' },
    replicas: 1,
    readiness: { path: '/', timeout: '20s' },
    stopSignal: 'SIGTERM',
    gracePeriod: '5s',
    ...overrides,
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(processes: ProcessWorkload[], port?: number) {
  const tmp = makeTempDir();
  const registry = openProcessRegistry(path.join(tmp.dir, 'processes.json'));
  const endpointPort = port ?? (await freePort());
  const platform = createLocalPlatform({
    site: 'target',
    stateDir: tmp.dir,
    processes,
    endpoint: `http://127.0.0.1:${endpointPort}`,
    databases: { orders: 'postgresql://app@127.0.0.1:1/orders' },
    registry,
  });
  const ctx = { runId: 'r1', logger: createSilentLogger() };
  cleanups.push(async () => {
    await registry.stopAll(2000);
    tmp.cleanup();
  });
  return { platform, registry, ctx, endpoint: `http://127.0.0.1:${endpointPort}`, dir: tmp.dir };
}

describe('local platform', () => {
  it('starts the workload on the endpoint with its templated environment, and provisioning again changes nothing', async () => {
    const { platform, registry, ctx, endpoint } = await setup([workload()]);
    const first = await platform.provision(ctx);
    expect(first.workloads).toEqual([{ name: 'web', replicas: 1, ready: true }]);
    const body = (await (await fetch(endpoint)).json()) as Record<string, string>;
    expect(body).toEqual({ site: 'target', db: 'postgresql://app@127.0.0.1:1/orders', replica: '0' });
    const pids = registry.records().map((r) => r.pid);
    await platform.provision(ctx);
    expect(registry.records().map((r) => r.pid)).toEqual(pids);
  });

  it("starts a workload at the CPU priority its plan gives, and one without at handoff's own", async () => {
    const lower = Math.min(19, os.getPriority() + 3);
    const { platform, registry, ctx } = await setup([
      workload({ name: 'niced', priority: lower }),
      workload({ name: 'plain' }),
    ]);
    await platform.provision(ctx);
    const pid = (name: string): number =>
      registry.records().find((r) => r.name.startsWith(`target/${name}-`))?.pid as number;
    expect(os.getPriority(pid('niced'))).toBe(lower);
    expect(os.getPriority(pid('plain'))).toBe(os.getPriority());
  });

  it('quiesce stops the processes and unquiesce brings them back; teardown leaves nothing running', async () => {
    const { platform, registry, ctx, endpoint } = await setup([workload()]);
    await platform.provision(ctx);
    const [pid] = registry.records().map((r) => r.pid);
    const record = await platform.quiesce(ctx);
    expect(record).toEqual({ stopped: [{ name: 'web', replica: 0 }] });
    expect(isAlive(pid as number)).toBe(false);
    await expect(fetch(endpoint)).rejects.toThrow();
    await platform.unquiesce(ctx, record);
    expect((await fetch(endpoint)).status).toBe(200);
    await platform.teardown(ctx);
    expect(registry.records()).toEqual([]);
  });

  it('balances several replicas behind the endpoint', async () => {
    const { platform, ctx, endpoint } = await setup([workload({ replicas: 2 })]);
    await platform.provision(ctx);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const agent = new http.Agent({ keepAlive: false });
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(endpoint, { agent }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      seen.add((JSON.parse(body) as { replica: string }).replica);
    }
    expect([...seen].sort()).toEqual(['0', '1']);
    await platform.teardown(ctx);
  });

  it('fails clearly when a process exits before it is ready, leaving nothing behind', async () => {
    const { platform, registry, ctx } = await setup([workload({ env: { PORT: '{{port}}', FAIL_AT_START: '1' } })]);
    await expect(platform.provision(ctx)).rejects.toThrow(/exited with code 7 before it was ready/);
    await platform.teardown(ctx);
    expect(registry.records()).toEqual([]);
  });

  it('refuses an unknown placeholder and a database the site does not have', async () => {
    const a = await setup([workload({ env: { X: '{{nope}}' } })]);
    await expect(a.platform.provision(a.ctx)).rejects.toThrow(/\{\{nope\}\} is not a known placeholder/);
    const b = await setup([workload({ env: { X: '{{db.billing}}' } })]);
    await expect(b.platform.provision(b.ctx)).rejects.toThrow(/has no database "billing"/);
  });

  it('preflight finds a missing command and a busy target port', async () => {
    const busy = http.createServer((_req, res) => res.end('x'));
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => busy.close(() => resolve())));
    const { platform, ctx } = await setup([workload({ command: 'no-such-command-here' })], port);
    const findings = await platform.preflight(ctx);
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['local.command-missing', 'blocker'],
      ['local.port-in-use', 'blocker'],
    ]);
  });
});
