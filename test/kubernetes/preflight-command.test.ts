/**
 * `handoff preflight -f plan.yaml` with Kubernetes sites reports the parity findings: exit 0 when
 * nothing blocks, exit 1 with the blocker's id when something does; read-only on both clusters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { fullTransforms, startPair, writePlanFile, type ClusterPair } from './clusters.js';

let pair: ClusterPair;

beforeAll(async () => {
  pair = await startPair();
});

afterAll(async () => {
  await pair?.close();
});

function writePlan(name: string, transforms: Record<string, unknown>): string {
  return writePlanFile(pair, name, transforms);
}

describe('handoff preflight with kubernetes sites', () => {
  it('passes with the mappings, and fails with exit 1 naming the blocker without them', async () => {
    const ok = await runCli(['preflight', '-f', writePlan('ok.yaml', fullTransforms), '-o', 'json'], { cwd: pair.dir });
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; findings: Array<{ id: string; severity: string }> };
    expect(report.ok).toBe(true);
    expect(report.findings.map((f) => f.id)).toContain('k8s.storage-class-mapped');

    const { storageClasses: _dropped, ...rest } = fullTransforms;
    const blocked = await runCli(['preflight', '-f', writePlan('blocked.yaml', rest)], { cwd: pair.dir });
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain('BLOCKER  k8s.storage-class-missing  StorageClass gp3');
    expect(blocked.stdout).toContain('preflight: 1 blocker(s)');
    expect([...pair.source.requests, ...pair.target.requests].filter((r) => r.method !== 'GET')).toEqual([]);
  });
});
