/**
 * The dashboard shows the state directory's rehearsal (issue 13), over real HTTP: `/api/rehearsal`
 * (404 before there is a result, the result after; 500 naming the field when it cannot be read),
 * `/metrics` (handoff_rehearsal_*), and the panel on the runs page and on the rehearsed run's page
 * (every value escaped, no secret).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { RehearsalResult } from '../../src/rehearsal/faults/types.js';
import { rehearsalResultFile } from '../../src/report/rehearsal-result.js';
import { makeTempDir } from '../support/tmp.js';
import { SECRET, writeSyntheticRuns } from '../report/synthetic-run.js';

const EVIL = '<img src=x onerror="document.title=\'pwned\'">';

const result: RehearsalResult = {
  ok: false,
  runId: 'run-succeeded',
  faults: [
    {
      name: 'replication-partition',
      kind: 'network',
      stage: 'replicate',
      injectedAt: '2026-12-04T08:00:01.250Z',
      clearedAt: '2026-12-04T08:00:06.250Z',
      reaction: 'retry',
      recoveryMs: 6400,
      failedRequests: 0,
      detail: 'proxy replication disabled',
    },
    {
      name: EVIL,
      kind: 'process',
      stage: 'bake',
      injectedAt: '2026-12-04T08:01:00.000Z',
      clearedAt: '2026-12-04T08:01:00.500Z',
      reaction: 'failback',
      recoveryMs: null,
      failedRequests: 17,
      detail: `SIGKILL pid 4242 ${SECRET}`,
    },
    {
      name: 'never-came',
      kind: 'ddl',
      stage: 'finalize',
      injectedAt: null,
      clearedAt: null,
      reaction: 'none',
      recoveryMs: null,
      failedRequests: 0,
      detail: 'its stage never started',
    },
  ],
  invariants: {
    lost: 2,
    unexpected: 0,
    duplicated: 0,
    stale: 0,
    wrongTotal: 0,
    negativeValue: 0,
    readYourWritesViolations: 0,
    dataIdentical: true,
    auditValid: true,
    leftBehind: ['slot handoff_x'],
  },
  violated: ['lost', 'leftBehind'],
};

describe('the dashboard and the rehearsal', () => {
  const tmp = makeTempDir('handoff-dashboard-rehearsal-');
  const stateDir = path.join(tmp.dir, 'state');
  let dashboard: Dashboard | undefined;
  const get = (route: string) => fetch(`${dashboard!.url}${route}`, { signal: AbortSignal.timeout(10_000) });

  beforeAll(async () => {
    writeSyntheticRuns(stateDir);
    dashboard = await startDashboard({
      stateDir,
      listen: { host: '127.0.0.1', port: 0 },
      token: null,
      redactor: createRedactor([SECRET]),
      logger: createSilentLogger(),
    });
  });
  afterAll(async () => {
    await dashboard?.close();
    tmp.cleanup();
  });

  it('without a rehearsal: /api/rehearsal is 404 JSON, /metrics and the pages have no rehearsal', async () => {
    const answer = await get('/api/rehearsal');
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ error: 'not-found' });
    expect(await (await get('/metrics')).text()).not.toContain('handoff_rehearsal');
    expect(await (await get('/')).text()).not.toContain('id="rehearsal"');
  });

  it('with a result: /api/rehearsal gives it (secrets redacted), /metrics has its figures', async () => {
    fs.mkdirSync(path.dirname(rehearsalResultFile(stateDir)), { recursive: true });
    fs.writeFileSync(
      rehearsalResultFile(stateDir),
      JSON.stringify({ ...result, run: { id: 'run-succeeded', executors: 3 } }),
    );
    const answer = await get('/api/rehearsal');
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as RehearsalResult;
    expect(body.ok).toBe(false);
    expect(body.faults.map((f) => [f.name, f.reaction, f.recoveryMs, f.failedRequests])).toEqual([
      ['replication-partition', 'retry', 6400, 0],
      [EVIL, 'failback', null, 17],
      ['never-came', 'none', null, 0],
    ]);
    expect(JSON.stringify(body)).not.toContain(SECRET);
    expect(body).toMatchObject({ run: { id: 'run-succeeded', executors: 3 } }); // the runner's own fields kept

    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('# TYPE handoff_rehearsal_ok gauge\nhandoff_rehearsal_ok{run="run-succeeded"} 0\n');
    expect(metrics).toContain('handoff_rehearsal_invariant_violations{run="run-succeeded",invariant="lost"} 2\n');
    expect(metrics).toContain('handoff_rehearsal_invariant_violations{run="run-succeeded",invariant="leftBehind"} 1\n');
    expect(metrics).toContain('handoff_rehearsal_invariant_violations{run="run-succeeded",invariant="stale"} 0\n');
    expect(metrics).toContain(
      'handoff_rehearsal_fault_recovery_seconds{run="run-succeeded",fault="replication-partition",kind="network",reaction="retry"} 6.4\n',
    );
    // The fault that never recovered has no recovery sample, and recovered 0.
    expect(metrics.match(/^handoff_rehearsal_fault_recovery_seconds\{/gm)).toHaveLength(1);
    expect(metrics).toContain(
      'handoff_rehearsal_fault_recovered{run="run-succeeded",fault="<img src=x onerror=\\"document.title=\'pwned\'\\">",kind="process",reaction="failback"} 0\n',
    );
    expect(metrics).toMatch(/^handoff_rehearsal_fault_failed_requests\{.*kind="process".*\} 17$/m);
    // The fault never injected: injected 0, and no recovery figures.
    expect(metrics).toContain(
      'handoff_rehearsal_fault_injected{run="run-succeeded",fault="never-came",kind="ddl",reaction="none"} 0\n',
    );
    expect(metrics.match(/^handoff_rehearsal_fault_injected\{.*\} 1$/gm)).toHaveLength(2);
    expect(metrics.match(/^handoff_rehearsal_fault_recovered\{/gm)).toHaveLength(2);
    expect(metrics).toContain('handoff_run_info{'); // the run metrics are still there
  });

  it('the panel on the runs page and on the rehearsed run page, escaped; not on another run', async () => {
    for (const route of ['/', '/runs/run-succeeded']) {
      const html = await (await get(route)).text();
      const panel = html.slice(
        html.indexOf('<section id="rehearsal">'),
        html.indexOf('</section>', html.indexOf('<section id="rehearsal">')),
      );
      expect(panel, route).toContain('<span class="outcome-fail">failed</span>');
      expect(panel.indexOf('<code>lost</code>')).toBeLessThan(panel.indexOf('<code>unexpected</code>'));
      expect(panel).toContain('<td class="outcome-fail">VIOLATED</td>');
      expect(panel).toContain('&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;');
      expect(panel).not.toContain('<img');
      expect(panel).toContain('<td>6.40 s</td>');
      expect(panel).toContain('<td class="outcome-fail">never</td>');
      expect(panel).toContain('<td>not injected</td>');
      expect(panel.match(/outcome-fail">never</g)).toHaveLength(1);
      expect(html).not.toContain(SECRET);
    }
    expect(await (await get('/runs/run-rolled-back')).text()).not.toContain('id="rehearsal"');
  });

  it('a result that cannot be read: /api/rehearsal 500 naming the field, the page says so, /metrics still answers', async () => {
    fs.writeFileSync(rehearsalResultFile(stateDir), JSON.stringify({ ...result, faults: 'none' }));
    const answer = await get('/api/rehearsal');
    expect(answer.status).toBe(500);
    expect(await answer.json()).toMatchObject({
      error: 'unreadable',
      message: expect.stringMatching(/result\.json: faults: /),
    });
    expect(await (await get('/')).text()).toContain('The rehearsal result cannot be read');
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).not.toContain('handoff_rehearsal');
  });
});
