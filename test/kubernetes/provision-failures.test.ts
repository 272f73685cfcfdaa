/**
 * Provision failure paths: a workload that never becomes ready fails within the bound, naming it;
 * an object that existed on the target with a value another manager owns is a conflict found by a
 * dry run before anything changes, not an overwrite.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AdapterError, TimeoutError } from '../../src/common/errors.js';
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import { dig, planFor, platformContext, startPair, type ClusterPair } from './clusters.js';
import { targetClusterObjects } from './fixtures.js';

let pair: ClusterPair | undefined;

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

describe('kubernetes provision failures', () => {
  it('fails within its bound when a workload never becomes ready, naming it and why', async () => {
    pair = await startPair();
    pair.target.controller.hold('Deployment', 'shop', 'web');
    const target = createKubernetesPlatform(
      { site: 'target', plan: planFor(pair), readyTimeoutMs: 1500 },
      { redactor: pair.redactor },
    );
    const started = Date.now();
    const error = await target.provision(platformContext('run-f')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain(
      'apps/v1 Deployment shop/web: the controller has not seen the latest spec',
    );
    expect((error as Error).message).not.toContain('StatefulSet');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses to overwrite a field another manager owns on an object that existed before', async () => {
    pair = await startPair({
      targetObjects: [
        ...targetClusterObjects,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'web-config', namespace: 'shop' },
          data: { LOG_LEVEL: 'debug' },
        },
      ],
    });
    const target = createKubernetesPlatform(
      { site: 'target', plan: planFor(pair), readyTimeoutMs: 10_000 },
      { redactor: pair.redactor },
    );
    const error = await target.provision(platformContext('run-f')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect((error as Error).message).toContain('conflict with "test-setup"');
    expect((error as Error).message).toContain('.data.LOG_LEVEL');
    expect((error as Error).message).toContain('nothing was changed');
    expect(dig(pair.target.read('v1', 'ConfigMap', 'web-config', 'shop'), 'data', 'LOG_LEVEL')).toBe('debug');
    expect(pair.target.read('v1', 'ServiceAccount', 'web', 'shop')).toBeUndefined();
    expect(
      dig(pair.target.read('v1', 'Namespace', 'shop'), 'metadata', 'labels', 'handoff.dev/migration'),
    ).toBeUndefined();
  });
});
