/**
 * The dashboard in real headless Chromium (Debian's chromium through playwright-core, no download)
 * during a real run: `handoff demo --dashboard` in a child process (two embedded PostgreSQL servers,
 * the demo service on each site, the router, load), and a second dashboard in this process on the
 * same state directory (a run driven by another process). The page must follow the run without a
 * reload: the stage advances, the weight chart changes, events keep coming; no page error, no
 * console error. /metrics scraped during the run holds the run's stage and weights. Once the run
 * has finished, a fresh page of it draws the same charts as the live page did at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { RunView } from '../../src/dashboard/view.js';
import { repoRoot, tsxLoader } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const FINAL = ['succeeded', 'rolled-back', 'aborted', 'failed'];
/** Events must keep coming while the run is live: a longer silence is a stall. */
const STALL_MS = 45_000;

interface ChartState {
  id: string;
  series: string[];
  points: number;
  last: Array<number | null>;
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function chartsOf(page: Page): Promise<ChartState[]> {
  return page.locator('div.chart').evaluateAll((nodes) =>
    nodes.map((n) => {
      const el = n as unknown as { id: string; dataset: Record<string, string | undefined> };
      return {
        id: el.id,
        series: JSON.parse(el.dataset.series ?? '[]') as string[],
        points: Number(el.dataset.points ?? 0),
        last: JSON.parse(el.dataset.last ?? '[]') as Array<number | null>,
      };
    }),
  );
}

function parseMetrics(text: string, runId: string) {
  const stage = new RegExp(
    `^handoff_run_info\\{run="${runId}",migration="[^"]*",state="([^"]*)",stage="([^"]*)"\\} 1$`,
    'm',
  ).exec(text);
  const weights: Record<string, number> = {};
  for (const m of text.matchAll(
    new RegExp(`^handoff_traffic_weight\\{run="${runId}",class="(\\w+)",site="(\\w+)"\\} (\\S+)$`, 'gm'),
  ))
    weights[`${m[1]}/${m[2]}`] = Number(m[3]);
  return { state: stage?.[1] ?? null, stage: stage?.[2] ?? null, weights };
}

describe('the live dashboard during a real run, in headless Chromium', () => {
  const tmp = makeTempDir('handoff-dashboard-browser-');
  const stateDir = path.join(tmp.dir, 'state');
  let browser: Browser | undefined;
  let dashboard: Dashboard | undefined;
  let demo: ChildProcess | undefined;
  let demoExit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  let demoStderr = '';
  let runId = '';
  let liveCharts: ChartState[] = [];
  let finalState = '';

  beforeAll(async () => {
    const started = Date.now();
    while (!fs.existsSync(CHROMIUM)) {
      if (Date.now() - started > 120_000) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
    demo = spawn(
      process.execPath,
      [
        '--import',
        tsxLoader,
        path.join(repoRoot, 'src', 'cli', 'entry.ts'),
        'demo',
        '--state-dir',
        stateDir,
        '--rows',
        '3000',
        '--duration',
        '2s',
        '--dashboard',
        '127.0.0.1:0',
        '-o',
        'json',
      ],
      { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    demo.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    demo.stderr?.on('data', (chunk: Buffer) => (demoStderr += chunk.toString()));
    demoExit = new Promise((resolve) => demo?.on('close', (code) => resolve({ code, stdout, stderr: demoStderr })));
    dashboard = await startDashboard({
      stateDir,
      listen: { host: '127.0.0.1', port: 0 },
      token: null,
      redactor: createRedactor(),
      logger: createSilentLogger(),
    });
  }, 200_000);

  afterAll(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGINT');
      await Promise.race([demoExit, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
    await browser?.close();
    await dashboard?.close();
    tmp.cleanup();
  }, 60_000);

  it("follows the run live: the stage advances, the weight chart changes, /metrics has the run's stage and weights", async () => {
    // The demo's own dashboard (--dashboard) answers while the run goes.
    const demoUrl = await waitFor('the demo to say where its dashboard is', 120_000, async () => {
      return /dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(demoStderr)?.[1] ?? null;
    });
    // Bounds for a busy 2-core machine: the demo starts two PostgreSQL servers, the services, the router and a 5 s baseline.
    runId = await waitFor(
      'the run to start',
      420_000,
      async () => {
        if (demo?.exitCode !== null) throw new Error(`the demo exited early: ${demoStderr.slice(-2000)}`);
        const answer = await fetch(`${demoUrl}/api/runs`).catch(() => null);
        if (!answer) return null;
        const runs = (await answer.json()) as Array<{ id: string; state: string }>;
        return runs.find((r) => r.state === 'running')?.id ?? null;
      },
      () => `; the demo said: ${demoStderr.slice(-2000)}`,
    );

    const context = await (browser as Browser).newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    let navigations = 0;
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    try {
      await page.goto(`${(dashboard as Dashboard).url}/runs/${runId}`, { waitUntil: 'load', timeout: 30_000 });
      const stages: string[] = [];
      const weightStates = new Set<string>();
      let metricsChecked: { stage: string; weights: Record<string, number> } | null = null;
      let lastEvents = -1;
      let lastEventsAt = Date.now();
      const deadline = Date.now() + 600_000;
      for (;;) {
        const stage = await page.locator('#stage').innerText();
        if (stages.at(-1) !== stage) stages.push(stage);
        const weights = (await chartsOf(page)).find((c) => c.id === 'chart-weights');
        if (weights && weights.points > 0) weightStates.add(JSON.stringify([weights.points, weights.last]));
        const events = Number((await page.locator('main').getAttribute('data-events')) ?? 0);
        if (events !== lastEvents) {
          lastEvents = events;
          lastEventsAt = Date.now();
        }
        const state = await page.locator('#run-state').innerText();
        if (FINAL.includes(state)) {
          finalState = state;
          break;
        }
        expect(
          Date.now() - lastEventsAt,
          `no event reached the page for ${STALL_MS} ms at stage ${stage}`,
        ).toBeLessThan(STALL_MS);
        expect(Date.now(), `the run did not finish; stages seen ${stages.join(', ')}`).toBeLessThan(deadline);
        expect(await page.locator('#error').getAttribute('class')).not.toBe('shown');
        // /metrics (this process's dashboard: the run is driven by another) against the run's own view.
        if (!metricsChecked && (stage === 'shift' || stage === 'bake')) {
          const metrics = parseMetrics(await (await fetch(`${(dashboard as Dashboard).url}/metrics`)).text(), runId);
          const view = (await (
            await fetch(`${(dashboard as Dashboard).url}/api/runs/${runId}/view`)
          ).json()) as RunView;
          const last = view.report.weights.at(-1);
          const expected: Record<string, number> = {};
          for (const cls of ['reads', 'writes'] as const)
            for (const [site, value] of Object.entries(last?.[cls] ?? {})) expected[`${cls}/${site}`] = value;
          // Both read the same moment unless the run moved in between; then the next round compares again.
          if (
            last &&
            metrics.stage === view.status.stage &&
            JSON.stringify(metrics.weights) === JSON.stringify(expected)
          ) {
            expect(metrics.state).toBe('running');
            metricsChecked = { stage: metrics.stage as string, weights: metrics.weights };
          }
        }
        await page.waitForTimeout(400);
      }
      const screenshot = path.join(tmp.dir, 'dashboard-live.png');
      // The final view lands a moment after the final state: wait for the charts to settle.
      await page.waitForTimeout(1500);
      await page.screenshot({ path: screenshot, fullPage: true });
      if (process.env.HANDOFF_DASHBOARD_SCREENSHOT)
        fs.copyFileSync(screenshot, process.env.HANDOFF_DASHBOARD_SCREENSHOT);
      expect(fs.readFileSync(screenshot).subarray(1, 4).toString('latin1')).toBe('PNG');

      expect(navigations).toBe(1); // never reloaded
      expect(stages.length, `stages seen: ${stages.join(' → ')}`).toBeGreaterThanOrEqual(3);
      expect(weightStates.size, 'the weight chart changed while the page was open').toBeGreaterThanOrEqual(2);
      expect(metricsChecked, 'a /metrics scrape matched the run').not.toBeNull();
      expect(Object.keys(metricsChecked?.weights ?? {})).toEqual(
        expect.arrayContaining(['reads/source', 'reads/target', 'writes/source', 'writes/target']),
      );
      liveCharts = await chartsOf(page);
      expect(liveCharts.map((c) => c.id)).toEqual([
        'chart-weights',
        'chart-requests',
        'chart-errors',
        'chart-latency',
        'chart-lag',
        'chart-held',
      ]);
      expect(liveCharts.find((c) => c.id === 'chart-requests')?.points).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
    const exit = await waitFor('the demo to exit', 300_000, async () =>
      Promise.race([demoExit, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000))]),
    );
    // 0: the run succeeded; 1: it rolled back (a busy machine can fail the gates). Either is a real run to watch.
    expect([0, 1], exit.stderr.slice(-2000)).toContain(exit.code);
  }, 1_500_000);

  it("opens the finished run's page and draws the same charts as the live page did at the end", async () => {
    expect(liveCharts.length).toBeGreaterThan(0);
    const context = await (browser as Browser).newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    try {
      await page.goto(`${(dashboard as Dashboard).url}/runs/${runId}`, { waitUntil: 'load', timeout: 30_000 });
      await page.locator('#chart-weights').waitFor({ timeout: 10_000 });
      expect(await page.locator('#run-state').innerText()).toBe(finalState);
      const replay = await chartsOf(page);
      expect(replay.map((c) => [c.id, c.series, c.points])).toEqual(liveCharts.map((c) => [c.id, c.series, c.points]));
      expect(await page.locator('#decisions tbody tr').count()).toBeGreaterThan(0);
      expect(await page.locator('#audit-table tbody tr').count()).toBeGreaterThan(10);
      await page.screenshot({ path: path.join(tmp.dir, 'dashboard-finished.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
