/**
 * `handoff export -f plan.yaml --out DIR` against a Kubernetes API test server: translated
 * manifests in apply order, a summary of what was left out and why, no Secret value anywhere
 * unless asked for, and exit 2 with a precise message on bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../support/cli.js';
import { listFiles } from '../support/tmp.js';
import { startPair, writePlanFile, type ClusterPair } from './clusters.js';
import { GAR, SECRET_VALUE } from './fixtures.js';

let pair: ClusterPair;
let planFile: string;
const token = 'k8s-token-should-never-print-7f3a';

beforeAll(async () => {
  pair = await startPair({ source: { token } });
  planFile = writePlanFile(pair);
});

afterAll(async () => {
  await pair?.close();
});

describe('handoff export', () => {
  it('writes the translated manifests in apply order and a JSON summary', async () => {
    const out = path.join(pair.dir, 'out');
    const result = await runCli(['export', '-f', planFile, '--out', out, '-o', 'json'], { cwd: pair.dir });
    expect(result.stderr).not.toContain('Error');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      objects: Array<{ object: string; file: string }>;
      leftOut: Array<{ object: string; reason: string }>;
      requires: Array<{ kind: string; name: string }>;
      changes: Array<{ object: string; rule: string; path: string; to?: unknown }>;
    };
    const files = summary.objects.map((o) => o.file);
    expect(files[0]).toBe('manifests/01-namespace-shop.yaml');
    expect(files.findIndex((f) => f.includes('serviceaccount'))).toBeLessThan(
      files.findIndex((f) => f.includes('deployment')),
    );
    expect(summary.objects.map((o) => o.object)).toEqual(
      expect.arrayContaining([
        'v1 ConfigMap shop/web-config',
        'v1 Secret shop/web-secret',
        'rbac.authorization.k8s.io/v1 ClusterRoleBinding shop-node-reader',
        'example.com/v1 Widget shop/orders-widget',
      ]),
    );
    expect(summary.leftOut).toEqual(
      expect.arrayContaining([
        {
          object: 'v1 ConfigMap shop/unrelated',
          reason: 'not selected by spec.workloads.selector and not needed by a selected object',
        },
        { object: 'v1 PersistentVolumeClaim shop/data-db-0', reason: expect.stringContaining('volumeClaimTemplates') },
        {
          object: 'apiextensions.k8s.io/v1 CustomResourceDefinition widgets.example.com',
          reason: expect.stringContaining('operator'),
        },
      ]),
    );
    expect(summary.requires).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'StorageClass', name: 'gp3' }),
        expect.objectContaining({ kind: 'IngressClass', name: 'alb' }),
      ]),
    );
    expect(summary.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          object: 'apps/v1 StatefulSet shop/db',
          rule: 'storageClasses.gp3',
          path: '/spec/volumeClaimTemplates/0/spec/storageClassName',
          to: 'premium-rwo',
        }),
        expect.objectContaining({
          object: 'networking.k8s.io/v1 Ingress shop/web',
          rule: 'ingressClasses.alb',
          to: 'gce',
        }),
      ]),
    );
    const deployment = parse(
      fs.readFileSync(path.join(out, files.find((f) => f.includes('deployment-shop-web')) ?? ''), 'utf8'),
    ) as Record<string, unknown>;
    expect(JSON.stringify(deployment)).toContain(`${GAR}shop/web:1.4.2`);
    expect(JSON.stringify(deployment)).not.toContain('resourceVersion');
    expect(fs.existsSync(path.join(out, 'summary.json'))).toBe(true);
    // Nothing secret anywhere: not the token, not the Secret's value.
    const everything = [result.stdout, result.stderr, ...listFiles(out).map((f) => fs.readFileSync(f, 'utf8'))].join(
      '\n',
    );
    expect(everything).not.toContain(SECRET_VALUE);
    expect(everything).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    expect(everything).not.toContain(token);
    // Read-only: the target was not touched.
    expect(pair.target.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('refuses to overwrite an earlier export without --force, and writes Secret values only when asked', async () => {
    const out = path.join(pair.dir, 'out2');
    expect((await runCli(['export', '-f', planFile, '--out', out], { cwd: pair.dir })).code).toBe(0);
    const again = await runCli(['export', '-f', planFile, '--out', out], { cwd: pair.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('holds an earlier export; pass --force');
    const forced = await runCli(['export', '-f', planFile, '--out', out, '--force', '--include-secret-values'], {
      cwd: pair.dir,
    });
    expect(forced.code).toBe(0);
    expect(forced.stdout).not.toContain(SECRET_VALUE);
    const secretFile = listFiles(out).find((f) => f.includes('secret-shop-web-secret')) ?? '';
    expect(fs.readFileSync(secretFile, 'utf8')).toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
  });

  it('exits 2 naming the unknown kubeconfig context, without a stack trace', async () => {
    const bad = path.join(pair.dir, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(planFile, 'utf8').replace('context: eks', 'context: nope'));
    const result = await runCli(['export', '-f', bad, '--out', path.join(pair.dir, 'out3')], { cwd: pair.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('kubeconfig context "nope" does not exist; known contexts: eks, gke');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(pair.dir, 'out3'))).toBe(false);
  });

  it('exits 2 when --out is missing', async () => {
    const result = await runCli(['export', '-f', planFile], { cwd: pair.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--out');
  });

  it('exits 2 for a plan whose sites are not on Kubernetes, pointing at the line of the platform', async () => {
    const plan = path.resolve('test/fixtures/plans/minimal-local.yaml');
    const result = await runCli(['export', '-f', plan, '--out', path.join(pair.dir, 'out4')], { cwd: pair.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${plan}:8:23: spec.source.platform.kind: the kubernetes platform needs a kubernetes source, not "local"`,
    );
    expect(fs.existsSync(path.join(pair.dir, 'out4'))).toBe(false);
  });
});
