/**
 * One preflight: `handoff preflight -f plan.yaml` and the run's preflight stage give the same
 * findings for the same plan, through the real CLI. A built-in router driven over its admin API at
 * a closed 127.0.0.1 port: both say `router.unreachable` and stop (exit 1). A gateway-api router
 * (an HTTPRoute on the Kubernetes API test server) asked for a 0.05 % step: both say what it
 * cannot do, from its capabilities (`router.cannot-hold`, `router.weight-resolution`), and stop.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingSchema, sortFindings, type Finding } from '../../src/common/findings.js';
import { preflightFindingsSchema } from '../../src/report/events.js';
import { readRunTrail } from '../../src/report/trail-reader.js';
import { runCli } from '../support/cli.js';
import { writeKubeconfig } from '../support/kube/kubeconfig.js';
import { startKubeTestServer, type KubeTestServer } from '../support/kube/server.js';
import { listFiles, makeTempDir } from '../support/tmp.js';

const TOKEN = 'parity-router-token-5d1c0b7e9a';

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const preflightDocument = z.object({ ok: z.boolean(), findings: z.array(findingSchema) });
const runDocument = z.object({
  run: z.string(),
  state: z.string(),
  stage: z.string().nullable(),
  reason: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
});

let tmp: { dir: string; cleanup: () => void };
let planFile: string;
let kube: KubeTestServer | undefined;

/** Runs the command and then the run on one plan; returns both finding lists (the run's from its audit trail). */
async function bothWays(plan: string, env: Record<string, string>, stateDir: string) {
  const command = await runCli(['preflight', '-f', plan, '-o', 'json'], { env, cwd: tmp.dir, timeoutMs: 120_000 });
  const run = await runCli(['run', '-f', plan, '--state-dir', stateDir, '-o', 'json'], {
    env,
    cwd: tmp.dir,
    timeoutMs: 120_000,
  });
  if (run.stdout === '') throw new Error(`handoff run printed nothing (exit ${run.code}): ${run.stderr}`);
  const outcome = runDocument.parse(JSON.parse(run.stdout));
  const events = readRunTrail(stateDir, outcome.run).pick('preflight-findings', preflightFindingsSchema);
  return { command, run, outcome, events, recorded: sortFindings(events.flatMap((e) => e.data.findings)) };
}

beforeAll(async () => {
  tmp = makeTempDir('handoff-preflight-parity-');
  const [admin, source, target] = [await closedPort(), await closedPort(), await closedPort()];
  planFile = path.join(tmp.dir, 'plan.yaml');
  fs.writeFileSync(
    planFile,
    [
      'apiVersion: handoff.dev/v1alpha1',
      'kind: Migration',
      'metadata: { name: router-down }',
      'spec:',
      `  source: { platform: { kind: local }, endpoint: "http://127.0.0.1:${source}" }`,
      `  target: { platform: { kind: local }, endpoint: "http://127.0.0.1:${target}" }`,
      '  traffic:',
      `    router: { kind: builtin, listen: "127.0.0.1:0", admin: "127.0.0.1:${admin}", adminToken: { fromEnv: ROUTER_TOKEN } }`,
      '    reads: { steps: [50, 100], bake: 1s }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await kube?.close();
  tmp?.cleanup();
});

describe('one preflight for the command and the run', () => {
  it('an unreachable router admin address: exit 1 and router.unreachable from both, and the same findings', async () => {
    const env = { ROUTER_TOKEN: TOKEN };
    const stateDir = path.join(tmp.dir, 'state');

    const command = await runCli(['preflight', '-f', planFile, '-o', 'json'], {
      env,
      cwd: tmp.dir,
      timeoutMs: 120_000,
    });
    expect(command.stderr).toBe('');
    expect(command.code).toBe(1);
    const report = preflightDocument.parse(JSON.parse(command.stdout));
    expect(report.ok).toBe(false);
    const unreachable = report.findings.find((f) => f.id === 'router.unreachable');
    expect(unreachable).toMatchObject({ severity: 'blocker', subject: 'spec.traffic.router' });
    expect(unreachable?.message).toContain('could not be reached');

    const run = await runCli(['run', '-f', planFile, '--state-dir', stateDir, '-o', 'json'], {
      env,
      cwd: tmp.dir,
      timeoutMs: 120_000,
    });
    expect(run.code).toBe(1);
    const outcome = runDocument.parse(JSON.parse(run.stdout));
    expect(outcome.stage).toBe('preflight');
    expect(outcome.state).not.toBe('succeeded');
    expect(`${outcome.reason ?? ''} ${outcome.error ?? ''}`).toContain('router.unreachable');

    // What the run recorded: one preflight-findings event per component, in the audit trail.
    const events = readRunTrail(stateDir, outcome.run).pick('preflight-findings', preflightFindingsSchema);
    expect(events.map((e) => e.data.component)).toEqual(['secrets', 'router']);
    const recorded: Finding[] = sortFindings(events.flatMap((e) => e.data.findings));
    expect(recorded.map((f) => f.id)).toContain('router.unreachable');
    expect(recorded).toEqual(report.findings);

    // The admin token reaches neither output nor any file of the run.
    for (const text of [command.stdout, command.stderr, run.stdout, run.stderr]) expect(text).not.toContain(TOKEN);
    for (const file of listFiles(stateDir)) expect(fs.readFileSync(file).toString('latin1'), file).not.toContain(TOKEN);
  });

  it('a weights-only router: what it cannot do, from its capabilities, the same from both', async () => {
    kube = await startKubeTestServer();
    kube.seed([
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'httproutes.gateway.networking.k8s.io' },
        spec: {
          group: 'gateway.networking.k8s.io',
          scope: 'Namespaced',
          names: { plural: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', listKind: 'HTTPRouteList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          rules: [
            {
              backendRefs: [
                { name: 'web', port: 8080, weight: 1 },
                { group: 'multicluster.x-k8s.io', kind: 'ServiceImport', name: 'web', port: 8080, weight: 0 },
              ],
            },
          ],
        },
      },
    ]);
    const kubeconfig = path.join(tmp.dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, [{ name: 'edge', url: kube.url }]);
    const plan = path.join(tmp.dir, 'gateway.yaml');
    fs.writeFileSync(
      plan,
      [
        'apiVersion: handoff.dev/v1alpha1',
        'kind: Migration',
        'metadata: { name: gateway-fine-step }',
        'spec:',
        '  source: { platform: { kind: local }, endpoint: "http://web.shop.svc:8080" }',
        '  target: { platform: { kind: local }, endpoint: "http://web.gke.example.net:8080" }',
        '  traffic:',
        '    router: { kind: gateway-api, route: web, namespace: shop, context: edge }',
        '    reads: { steps: [0.05, 100], bake: 1s }',
        '',
      ].join('\n'),
    );
    const { command, run, outcome, events, recorded } = await bothWays(
      plan,
      { KUBECONFIG: kubeconfig },
      path.join(tmp.dir, 'state-gateway'),
    );
    expect(command.code, command.stderr).toBe(1);
    const report = preflightDocument.parse(JSON.parse(command.stdout));
    expect(report.findings.map((f) => [f.id, f.severity])).toEqual([
      ['router.weight-resolution', 'blocker'],
      ['router.cannot-hold', 'warning'],
    ]);
    expect(run.code).toBe(1);
    expect(outcome.stage).toBe('preflight');
    expect(events.map((e) => e.data.component)).toEqual(['secrets', 'router']);
    expect(recorded).toEqual(report.findings);
    // Read-only: the route was read, never written.
    expect(kube.requests.filter((r) => r.path.includes('/httproutes/web') && r.method !== 'GET')).toEqual([]);
    expect(kube.requests.some((r) => r.method === 'GET' && r.path.includes('/httproutes/web'))).toBe(true);
  });
});
