/**
 * `handoff run` and `handoff rollback` with two Kubernetes clusters (API test servers): preflight
 * runs the parity checks, provision applies the translated namespace to the target, rollback
 * removes it again and leaves the source as it was.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_MIGRATION } from '../../src/platforms/kubernetes/apply.js';
import { runCli } from '../support/cli.js';
import { startPair, writePlanFile, type ClusterPair } from './clusters.js';
import { GAR } from './fixtures.js';

let pair: ClusterPair;
let planFile: string;

beforeAll(async () => {
  pair = await startPair();
  planFile = writePlanFile(pair);
});

afterAll(async () => {
  await pair?.close();
});

const labelledOnTarget = (): number =>
  pair.target.catalog
    .all()
    .flatMap((t) => pair.target.store.list(t))
    .filter((o) => (o.metadata.labels as Record<string, string> | undefined)?.[LABEL_MIGRATION] === 'shop-to-gke')
    .length;

describe('handoff run with kubernetes sites', () => {
  it('runs preflight and provision, then rolls back to an empty target', async () => {
    const sourceBefore = JSON.stringify(pair.source.read('apps/v1', 'Deployment', 'web', 'shop')?.spec);
    const env = { HANDOFF_STATE_DIR: path.join(pair.dir, 'state') };
    const run = await runCli(['run', '-f', planFile, '--until', 'provision', '-o', 'json'], {
      cwd: pair.dir,
      env,
      timeoutMs: 90_000,
    });
    expect(run.stderr).toContain('k8s.storage-class-mapped');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { run: string; state: string; stage: string };
    expect(result).toMatchObject({ state: 'paused', stage: 'provision' });
    const runId = result.run;
    const image = (
      pair.target.read('apps/v1', 'Deployment', 'web', 'shop')?.spec as
        { template: { spec: { containers: Array<{ image: string }> } } } | undefined
    )?.template.spec.containers[0]?.image;
    expect(image).toBe(`${GAR}shop/web:1.4.2`);
    expect(labelledOnTarget()).toBeGreaterThan(12);

    const rollback = await runCli(['rollback', runId], { cwd: pair.dir, env, timeoutMs: 90_000 });
    expect(rollback.code).toBe(0);
    expect(labelledOnTarget()).toBe(0);
    expect(pair.target.read('v1', 'Namespace', 'shop')).toBeUndefined();
    expect(JSON.stringify(pair.source.read('apps/v1', 'Deployment', 'web', 'shop')?.spec)).toBe(sourceBefore);
  });
});
