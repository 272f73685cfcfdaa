/**
 * The network fault on a real TCP echo server behind the fault proxy: a latency toxic slows every
 * round trip and clear restores it; without a toxic the path is down (connections ended and
 * refused) and clear brings it up; overlapping outages keep it down until the last is cleared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { createFaultProxy, type FaultProxy } from '../../../src/faultproxy/fault-proxy.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { networkInjector } from '../../../src/rehearsal/faults/network.js';
import type { FaultEnvironment } from '../../../src/rehearsal/faults/types.js';
import {
  connect,
  fastestRoundTrip,
  roundTrip,
  startEchoServer,
  waitUntil,
  type TestServer,
} from '../../faultproxy/tcp.js';
import { testFaultEnv } from './env.js';

let echo: TestServer;
let faults: FaultProxy;
let env: FaultEnvironment;
let port: number;

function networkFault(fields: Record<string, unknown>) {
  const fault = rehearsalFault.parse({
    kind: 'network',
    name: 'n',
    at: { stage: 'replicate' },
    path: 'replication',
    ...fields,
  });
  if (fault.kind !== 'network') throw new Error('not a network fault');
  return fault;
}

beforeAll(async () => {
  [echo, faults] = await Promise.all([startEchoServer(), createFaultProxy()]);
  const info = await faults.addProxy({ name: 'replication', upstream: `127.0.0.1:${echo.port}` });
  port = Number(info.listen.split(':').pop());
  env = testFaultEnv({ faultProxy: faults, proxyFor: { replication: 'replication' } });
});
afterAll(async () => {
  await faults?.close();
  await echo?.close();
});

describe('network fault through the fault proxy', () => {
  it('a latency toxic slows each round trip by its value; clear removes it and the path is fast again', async () => {
    const session = await connect(port);
    try {
      const before = await fastestRoundTrip(session, 'a');
      const active = await networkInjector.inject(
        networkFault({ toxic: { type: 'latency', attributes: { latency: 200 } } }),
        env,
      );
      expect(active.detail).toMatch(
        /^latency downstream \(latency 200\) on replication \(proxy replication\), toxic rehearsal-n-\d+; removed at clear$/,
      );
      expect(faults.proxy('replication').toxics).toHaveLength(1);
      const slowed = await roundTrip(session, 'b');
      await active.clear();
      await active.clear();
      expect(faults.proxy('replication').toxics).toHaveLength(0);
      const after = await fastestRoundTrip(session, 'c');
      expect(before).toBeLessThan(100);
      expect(slowed).toBeGreaterThanOrEqual(195);
      expect(slowed).toBeLessThan(1_500);
      expect(after).toBeLessThan(100);
    } finally {
      session.socket.destroy();
    }
  });

  it('two toxic faults on one path get names of their own and are removed one by one', async () => {
    const fault = networkFault({ toxic: { type: 'bandwidth', attributes: { rate: 10 } } });
    const [first, second] = [await networkInjector.inject(fault, env), await networkInjector.inject(fault, env)];
    expect(faults.proxy('replication').toxics.map((t) => t.name)).toHaveLength(2);
    await first?.clear();
    expect(faults.proxy('replication').toxics).toHaveLength(1);
    await second?.clear();
    expect(faults.proxy('replication').toxics).toHaveLength(0);
  });

  it('without a toxic the path is down (open connections end, new ones are refused); clear brings it up', async () => {
    const session = await connect(port);
    const active = await networkInjector.inject(networkFault({}), env);
    expect(active.detail).toBe(
      'replication (proxy replication) down (proxy disabled: connections ended and refused); up at clear',
    );
    await waitUntil(() => session.endedAt !== null || session.closedAt !== null, 5_000, 'the open connection to end');
    session.socket.destroy();
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await active.clear();
    const again = await connect(port);
    expect(await roundTrip(again, 'up')).toBeLessThan(1_000);
    again.socket.destroy();
  });

  it('overlapping outages of one path: up only once the last is cleared', async () => {
    const first = await networkInjector.inject(networkFault({ name: 'first' }), env);
    const second = await networkInjector.inject(networkFault({ name: 'second' }), env);
    await first.clear();
    await first.clear();
    expect(faults.proxy('replication').enabled).toBe(false);
    await second.clear();
    expect(faults.proxy('replication').enabled).toBe(true);
  });

  it('a path the rehearsal does not proxy is an InputError naming the path; nothing changes', async () => {
    const error = await networkInjector
      .inject(networkFault({ path: 'router-to-target' }), env)
      .catch((e: unknown) => e);
    expect((error as HandoffError).code).toBe('input.invalid');
    expect((error as Error).message).toMatch(/path router-to-target does not go through a fault proxy/);
    expect(faults.proxy('replication')).toMatchObject({ enabled: true, toxics: [] });
  });
});
