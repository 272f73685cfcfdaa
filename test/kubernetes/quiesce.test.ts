/**
 * Quiesce and unquiesce of the source: replicas and suspend flags restored exactly; quiescing
 * twice returns the first record; a failure in between leaves the source as it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/common/errors.js';
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import { QUIESCE_ANNOTATION } from '../../src/platforms/kubernetes/quiesce.js';
import { dig, planFor, platformContext, startPair, type ClusterPair } from './clusters.js';

let pair: ClusterPair | undefined;

afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

function specs(p: ClusterPair): Record<string, unknown> {
  return {
    web: dig(p.source.read('apps/v1', 'Deployment', 'web', 'shop'), 'spec'),
    db: dig(p.source.read('apps/v1', 'StatefulSet', 'db', 'shop'), 'spec'),
    report: dig(p.source.read('batch/v1', 'CronJob', 'report', 'shop'), 'spec'),
    annotations: ['Deployment', 'StatefulSet', 'CronJob'].map((kind) =>
      dig(
        p.source.read(
          kind === 'CronJob' ? 'batch/v1' : 'apps/v1',
          kind,
          kind === 'Deployment' ? 'web' : kind === 'StatefulSet' ? 'db' : 'report',
          'shop',
        ),
        'metadata',
        'annotations',
        QUIESCE_ANNOTATION,
      ),
    ),
  };
}

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('kubernetes quiesce', () => {
  it('scales to zero and suspends, then restores replicas and suspend flags exactly', async () => {
    pair = await startPair();
    const p = pair;
    await waitFor(() => dig(p.source.read('apps/v1', 'Deployment', 'web', 'shop'), 'status', 'readyReplicas') === 2);
    const before = specs(p);
    const source = createKubernetesPlatform(
      { site: 'source', plan: planFor(p), quiesceTimeoutMs: 10_000 },
      { redactor: p.redactor },
    );
    const record = await source.quiesce(platformContext('run-q'));
    expect(record).toMatchObject({
      platform: 'kubernetes',
      site: 'source',
      entries: expect.arrayContaining([
        {
          ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop' },
          field: 'spec.replicas',
          previous: 2,
        },
        {
          ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', namespace: 'shop' },
          field: 'spec.replicas',
          previous: 1,
        },
        {
          ref: { apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', namespace: 'shop' },
          field: 'spec.suspend',
          previous: false,
        },
      ]),
    });
    expect(dig(p.source.read('apps/v1', 'Deployment', 'web', 'shop'), 'spec', 'replicas')).toBe(0);
    expect(dig(p.source.read('batch/v1', 'CronJob', 'report', 'shop'), 'spec', 'suspend')).toBe(true);
    expect(p.source.listKind('v1', 'Pod', 'shop')).toEqual([]);
    // Quiescing again (a replay after a crash) returns the first values, not the zeros.
    expect(await source.quiesce(platformContext('run-q'))).toEqual(record);
    await source.unquiesce(platformContext('run-q'), record);
    expect(specs(p)).toEqual(before);
    // A second unquiesce is harmless.
    await source.unquiesce(platformContext('run-q'), JSON.parse(JSON.stringify(record)) as typeof record);
    expect(specs(p)).toEqual(before);
  });

  it('restores the source when quiesce fails half way (a workload that does not stop in time)', async () => {
    pair = await startPair();
    const p = pair;
    await waitFor(() => dig(p.source.read('apps/v1', 'Deployment', 'web', 'shop'), 'status', 'readyReplicas') === 2);
    const before = specs(p);
    p.source.controller.hold('Deployment', 'shop', 'web');
    const source = createKubernetesPlatform(
      { site: 'source', plan: planFor(p), quiesceTimeoutMs: 800 },
      { redactor: p.redactor },
    );
    const started = Date.now();
    const error = await source.quiesce(platformContext('run-q')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('apps/v1 Deployment shop/web (2 running)');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(specs(p)).toEqual(before);
  });

  it('refuses a record that is not a kubernetes quiesce record, changing nothing', async () => {
    pair = await startPair();
    const p = pair;
    const before = specs(p);
    const source = createKubernetesPlatform({ site: 'source', plan: planFor(p) }, { redactor: p.redactor });
    await expect(source.unquiesce(platformContext('run-q'), { platform: 'local', entries: [] })).rejects.toThrow(
      'not a kubernetes quiesce record',
    );
    expect(specs(p)).toEqual(before);
  });
});
