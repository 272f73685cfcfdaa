/**
 * The dashboard's HTTP API, /metrics and access rules, over real HTTP against a state directory
 * written through the real store and audit trail: the runs list, a run's status (the same JSON as
 * `handoff status RUN -o json`), the event stream (history, then records appended by another
 * writer), bad ids, the token, the loopback rule (exit 2), escaping.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/common/events.js';
import { createRedactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { auditEvents } from '../../src/engine/observers.js';
import { openStore, type Store } from '../../src/store/store.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { scrubUrlCredentials } from '../../src/report/scrub.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { SECRET } from '../report/synthetic-run.js';
import { HTML_CHECK, HTML_TABLE, writeDashboardRuns } from './fixtures.js';

const TOKEN = 'dashboard-token-0123456789abcdef';

/** Reads SSE `data:` lines until `count` events came or `timeoutMs` passed. */
async function readEvents(url: string, count: number, timeoutMs: number, onOpen?: () => void) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: Array<{ id: string; data: Record<string, unknown> }> = [];
  try {
    const answer = await fetch(url, { signal: controller.signal });
    expect(answer.headers.get('content-type')).toContain('text/event-stream');
    onOpen?.();
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined) events.push({ id, data: JSON.parse(data) });
      }
    }
    await reader.cancel();
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe('the dashboard API', () => {
  const tmp = makeTempDir('handoff-dashboard-api-');
  const stateDir = path.join(tmp.dir, 'state');
  let dashboard: Dashboard;
  let runs: ReturnType<typeof writeDashboardRuns>;

  beforeAll(async () => {
    runs = writeDashboardRuns(stateDir);
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

  it('lists the runs with id, migration, state, stage, startedAt and updatedAt', async () => {
    const answer = await fetch(`${dashboard.url}/api/runs`);
    expect(answer.status).toBe(200);
    const list = (await answer.json()) as Array<Record<string, unknown>>;
    expect(list.map((r) => r.id).sort()).toEqual([runs.html, runs.rolledBack, runs.succeeded].sort());
    const succeeded = list.find((r) => r.id === runs.succeeded);
    expect(Object.keys(succeeded ?? {}).sort()).toEqual([
      'id',
      'migration',
      'stage',
      'startedAt',
      'state',
      'updatedAt',
    ]);
    expect(succeeded).toMatchObject({ migration: 'orders-to-gke', state: 'succeeded', stage: 'finalize' });
  });

  it("gives a run's status as handoff status RUN -o json does", async () => {
    const cli = await runCli(['status', runs.rolledBack, '-o', 'json', '--state-dir', stateDir], {
      timeoutMs: 150_000,
    });
    expect(cli.code).toBe(0);
    const answer = await fetch(`${dashboard.url}/api/runs/${runs.rolledBack}`);
    expect(answer.status).toBe(200);
    const api = (await answer.json()) as Record<string, unknown>;
    // The dashboard's redactor knows SECRET (the CLI's here does not): hide it the same way in both.
    const expected = JSON.parse(scrubUrlCredentials(createRedactor([SECRET]).redact(cli.stdout))) as Record<
      string,
      unknown
    >;
    // The lease's liveness is computed at the time of asking; everything else is the same document.
    expect({ ...api, lease: null }).toEqual({ ...expected, lease: null });
    expect(api.state).toBe('rolled-back');
  });

  it('answers a bad run id with 400 JSON and an unknown one with 404 JSON, never a stack', async () => {
    const bad = await fetch(`${dashboard.url}/api/runs/${encodeURIComponent('../etc passwd')}`);
    expect(bad.status).toBe(400);
    const badBody = (await bad.json()) as { error: string; message: string };
    expect(badBody.error).toBe('input.invalid');
    expect(badBody.message).toContain('is not a run id');
    const missing = await fetch(`${dashboard.url}/api/runs/no-such-run`);
    expect(missing.status).toBe(404);
    const body = (await missing.json()) as { message: string };
    expect(body.message).toContain('there is no run no-such-run');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    const events = await fetch(`${dashboard.url}/api/runs/no-such-run/events`);
    expect(events.status).toBe(404);
    const after = await fetch(`${dashboard.url}/api/runs/${runs.succeeded}/events?after=x`);
    expect(after.status).toBe(400);
  });

  it('streams the history of a run, then the records another writer appends, secrets redacted', async () => {
    const history = await readEvents(`${dashboard.url}/api/runs/${runs.succeeded}/events`, 10_000, 3000);
    expect(history.length).toBeGreaterThan(20);
    expect(history.every((e) => e.data.runId === runs.succeeded)).toBe(true);
    const seqs = history.map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(history[0]?.data.action).toBe('run-started');
    expect(JSON.stringify(history)).not.toContain(SECRET);

    // A live record: appended by another writer after the stream opened.
    const last = seqs.at(-1) as number;
    const append = (): void => {
      const redactor = createRedactor();
      const store = openStore({ stateDir, create: false, redactor }) as Store;
      const trail = openAuditTrail({ stateDir, redactor, onAppend: (head) => store.records.setAuditHead(head) });
      const bus = createEventBus({ runId: runs.succeeded });
      const stop = auditEvents(bus, trail);
      bus.emit('run-paused', { reason: 'appended live' }, { subject: runs.succeeded });
      stop();
      trail.close();
      store.close();
    };
    const live = await readEvents(`${dashboard.url}/api/runs/${runs.succeeded}/events?after=${last}`, 1, 10_000, () =>
      setTimeout(append, 300),
    );
    expect(live).toHaveLength(1);
    expect(live[0]?.data).toMatchObject({ action: 'run-paused', details: { reason: 'appended live' } });
    expect(Number(live[0]?.id)).toBeGreaterThan(last);
  });

  it('serves /metrics in Prometheus text with the run info, weights, lag, verification, decisions and write pause', async () => {
    const answer = await fetch(`${dashboard.url}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const text = await answer.text();
    expect(text).toContain(
      `handoff_run_info{run="${runs.succeeded}",migration="orders-to-gke",state="succeeded",stage="finalize"} 1`,
    );
    expect(text).toContain(`handoff_traffic_weight{run="${runs.succeeded}",class="reads",site="target"} 1`);
    expect(text).toContain(`handoff_traffic_weight{run="${runs.succeeded}",class="writes",site="source"} 0`);
    expect(text).toMatch(
      new RegExp(`handoff_replication_lag_seconds\\{run="${runs.succeeded}",database="orders"\\} 0\\.\\d+`),
    );
    expect(text).toContain(`handoff_verify_rows_total{run="${runs.succeeded}",database="orders"}`);
    expect(text).toMatch(
      new RegExp(`handoff_gate_decisions_total\\{run="${runs.rolledBack}",gate="[^"]+",decision="rollback"\\} [1-9]`),
    );
    expect(text).toContain(`handoff_cutover_write_pause_seconds{run="${runs.succeeded}"} 0.182`);
    for (const name of ['handoff_run_info', 'handoff_traffic_weight', 'handoff_gate_decisions_total'])
      expect(text).toContain(`# TYPE ${name} `);
  });

  it('renders HTML in a table or check name as text in the page it serves', async () => {
    const page = await (await fetch(`${dashboard.url}/runs/${runs.html}`)).text();
    expect(page).not.toContain(HTML_TABLE);
    expect(page).not.toContain(HTML_CHECK);
    expect(page).not.toMatch(/<script>document/);
    const view = (await (await fetch(`${dashboard.url}/api/runs/${runs.html}/view`)).json()) as {
      progress: Array<{ table: string; percent: number | null }>;
    };
    expect(view.progress).toContainEqual(expect.objectContaining({ table: HTML_TABLE, percent: 100 }));
  });
});

describe('dashboard access', () => {
  const tmp = makeTempDir('handoff-dashboard-access-');
  afterAll(() => tmp.cleanup());

  it('refuses to listen beyond loopback without a token (exit 2), naming the flag and the variable', async () => {
    const noToken = { HANDOFF_DASHBOARD_TOKEN: '' };
    const [result, run, bad] = await Promise.all([
      runCli(['dashboard', '--listen', '0.0.0.0:0', '--state-dir', tmp.dir], { env: noToken, timeoutMs: 150_000 }),
      // The same rule for run --dashboard, before the run starts (nothing is created in the state directory).
      runCli(
        [
          'run',
          '-f',
          'test/fixtures/plans/minimal-local.yaml',
          '--dashboard',
          '0.0.0.0:0',
          '--state-dir',
          `${tmp.dir}/run`,
        ],
        { env: noToken, timeoutMs: 150_000 },
      ),
      runCli(['dashboard', '--listen', 'nowhere', '--state-dir', tmp.dir], { timeoutMs: 150_000 }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--listen: 0.0.0.0 is not a loopback address');
    expect(result.stderr).toContain('HANDOFF_DASHBOARD_TOKEN');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--dashboard: 0.0.0.0 is not a loopback address');
    expect(fs.existsSync(`${tmp.dir}/run`)).toBe(false);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen: "nowhere" is not an address');
  });

  it('with a token, answers 401 without it and serves with it (header, or ?token= once then the cookie)', async () => {
    const dashboard = await startDashboard({
      stateDir: tmp.dir,
      listen: { host: '127.0.0.1', port: 0 },
      token: TOKEN,
      redactor: createRedactor([TOKEN]),
      logger: createSilentLogger(),
    });
    try {
      for (const route of ['/', '/api/runs', '/metrics', '/assets/dashboard.js', '/api/runs/x/events']) {
        const answer = await fetch(`${dashboard.url}${route}`);
        expect(answer.status, route).toBe(401);
        expect(await answer.text()).not.toContain(TOKEN);
      }
      expect((await fetch(`${dashboard.url}/api/runs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
      const ok = await fetch(`${dashboard.url}/api/runs`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      const first = await fetch(`${dashboard.url}/?token=${TOKEN}`, { redirect: 'manual' });
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe('/');
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
      expect(cookie).toMatch(/^handoff_dashboard=/);
      expect(first.headers.get('set-cookie')).toContain('HttpOnly');
      expect((await fetch(`${dashboard.url}/metrics`, { headers: { cookie } })).status).toBe(200);
    } finally {
      await dashboard.close();
    }
  });
});
