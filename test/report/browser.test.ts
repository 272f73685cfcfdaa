/**
 * The HTML report in a real browser: Debian's chromium, driven by playwright-core (never a browser
 * download). It opens the written file with the network cut off, takes a screenshot, and checks the
 * page: every section, charts that are SVG images with titles and data, table fallbacks, no
 * request for any external asset, no script error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { writeRunReport } from '../../src/report/write.js';
import { makeTempDir } from '../support/tmp.js';
import { SECRET, URL_PASSWORD, writeSyntheticRuns, type SyntheticRuns } from './synthetic-run.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** Chromium may still be being installed when the suite starts: wait a bounded time for it. */
async function waitForChromium(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(CHROMIUM)) {
    if (Date.now() > deadline) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

describe('the HTML report in headless Chromium', () => {
  const tmp = makeTempDir('handoff-report-browser-');
  let browser: Browser | undefined;
  let runs: SyntheticRuns;

  beforeAll(async () => {
    runs = writeSyntheticRuns(path.join(tmp.dir, 'state'));
    await waitForChromium(120_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  }, 200_000);

  afterAll(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  async function open(runId: string) {
    const file = writeRunReport({ stateDir: path.join(tmp.dir, 'state'), runId, redactor: createRedactor([SECRET]) });
    const context = await (browser as Browser).newContext({ viewport: { width: 1100, height: 900 }, offline: true });
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 30_000 });
    return { page, context, file, requests, errors };
  }

  it('shows every section, charts with data and their table fallbacks, and loads nothing from outside', async () => {
    const { page, context, file, requests, errors } = await open(runs.succeeded);
    try {
      const screenshot = path.join(tmp.dir, 'report-succeeded.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      if (process.env.HANDOFF_REPORT_SCREENSHOT) fs.copyFileSync(screenshot, process.env.HANDOFF_REPORT_SCREENSHOT);
      // A real PNG of a page much taller than the window (the whole report).
      const png = fs.readFileSync(screenshot);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.readUInt32BE(20)).toBeGreaterThan(2000); // height

      expect(await page.title()).toContain('orders-to-gke');
      const headings = await page.locator('h2').allInnerTexts();
      expect(headings).toEqual([
        'What moved',
        'Timeline',
        'Traffic',
        'Replication lag',
        'Cutover',
        'Verification',
        'Gate decisions',
        'Approvals',
        'Rollbacks',
        'Residual risks',
        'Clean-up',
        'Audit trail',
      ]);
      expect(await page.locator('h1').innerText()).toContain('Succeeded');

      // Four charts, each an accessible SVG image whose series hold points.
      const charts = await page.locator('svg.chart').evaluateAll((svgs) =>
        svgs.map((svg) => ({
          id: svg.id,
          role: svg.getAttribute('role'),
          title: svg.querySelector('title')?.textContent ?? '',
          desc: svg.querySelector('desc')?.textContent ?? '',
          series: [...svg.querySelectorAll('polyline[data-series]')].map((p) => ({
            name: p.getAttribute('data-series'),
            points: Number(p.getAttribute('data-points')),
            vertices: (p.getAttribute('points') ?? '').trim().split(/\s+/).length,
          })),
          width: svg.getBoundingClientRect().width,
          height: svg.getBoundingClientRect().height,
        })),
      );
      expect(charts.map((c) => c.id)).toEqual(['chart-weights', 'chart-errors', 'chart-p99', 'chart-lag']);
      for (const chart of charts) {
        expect(chart.role).toBe('img');
        expect(chart.title.length).toBeGreaterThan(5);
        expect(chart.desc.length).toBeGreaterThan(20);
        expect(chart.width).toBeGreaterThan(500);
        expect(chart.height).toBeGreaterThan(100);
        expect(chart.series.length).toBeGreaterThan(0);
        for (const series of chart.series) expect(series.points).toBeGreaterThan(0);
      }
      const weights = charts.find((c) => c.id === 'chart-weights');
      expect(weights?.series.map((s) => s.name)).toEqual(['reads to target', 'writes to target']);
      expect(weights?.series[0]?.points).toBe(7); // set, five steps, cutover
      const p99 = charts.find((c) => c.id === 'chart-p99');
      expect(p99?.series.map((s) => s.name).sort()).toEqual([
        'source reads',
        'source writes',
        'target reads',
        'target writes',
      ]);
      // Stage boundaries are drawn on the charts.
      expect(await page.locator('#chart-p99 .band rect').count()).toBe(8);

      // Tables behind the charts, and the numbers that matter.
      expect(await page.locator('details.data table').count()).toBe(3);
      const text = await page.locator('main').innerText();
      expect(text).toContain('182 ms'); // write pause
      expect(text).toContain('dana');
      expect(text).toMatch(/Identical/);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(URL_PASSWORD);

      expect(requests.filter((url) => url !== pathToFileURL(file).href)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('shows a rolled-back run as such, with its rollback, the failed gate and the risks left', async () => {
    const { page, context } = await open(runs.rolledBack);
    try {
      await page.screenshot({ path: path.join(tmp.dir, 'report-rolled-back.png'), fullPage: true });
      expect(await page.locator('h1').innerText()).toContain('Rolled back');
      const rollbacks = await page.locator('#rollbacks table').innerText();
      expect(rollbacks).toContain('shift → verify → replicate → provision');
      const gates = await page.locator('#gates').innerText();
      expect(gates).toContain('rollback');
      expect(gates).toContain('max 0.01');
      expect(await page.locator('#risks tbody tr').count()).toBe(3);
      expect(await page.locator('#cutover').innerText()).toContain('No cutover was measured');
      // The error-rate chart shows the target's 20 % windows.
      const maxTick = await page.locator('#chart-errors text.tick').allTextContents();
      expect(maxTick.some((t) => /^(20|25) %$/.test(t))).toBe(true);
    } finally {
      await context.close();
    }
  }, 120_000);
});
