/**
 * A table and a check named with HTML render as text in the dashboard page, in headless Chromium
 * (Debian's chromium through playwright-core): the client sets every value as text, so no element
 * is made from a name and no script in a name runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { makeTempDir } from '../support/tmp.js';
import { HTML_CHECK, HTML_RUN, HTML_TABLE, writeDashboardRuns } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';

describe('names with HTML in the dashboard page', () => {
  const tmp = makeTempDir('handoff-dashboard-escape-');
  let browser: Browser | undefined;
  let dashboard: Dashboard | undefined;

  beforeAll(async () => {
    const stateDir = path.join(tmp.dir, 'state');
    writeDashboardRuns(stateDir);
    dashboard = await startDashboard({
      stateDir,
      listen: { host: '127.0.0.1', port: 0 },
      token: null,
      redactor: createRedactor(),
      logger: createSilentLogger(),
    });
    const started = Date.now();
    while (!fs.existsSync(CHROMIUM)) {
      if (Date.now() - started > 120_000) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
      timeout: 60_000,
    });
  }, 200_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    tmp.cleanup();
  });

  it('shows the names as text: no element made from them, no script run', async () => {
    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    try {
      await page.goto(`${(dashboard as Dashboard).url}/runs/${HTML_RUN}`, { waitUntil: 'load', timeout: 30_000 });
      await page.locator('#progress-table').waitFor({ timeout: 15_000 });
      expect(await page.locator('#progress-table').innerText()).toContain(HTML_TABLE);
      expect(await page.locator('#checks').innerText()).toContain(HTML_CHECK);
      expect(await page.locator('#decisions').innerText()).toContain(HTML_CHECK);
      expect(await page.locator('main img, main b, main script').count()).toBe(0);
      expect(await page.title()).toBe(`handoff ${HTML_RUN}`);
      // The cursor on the gate decision's line shows its reason, as text.
      const over = page.locator('#chart-weights .u-over');
      const box = await over.boundingBox();
      let caption = '';
      for (let x = 1; box && x < box.width && caption === ''; x += 2) {
        await over.hover({ position: { x, y: box.height / 2 } });
        caption = await page.locator('#chart-weights .mark-caption').innerText();
      }
      expect(caption).toContain(`verify: hold: check ${HTML_CHECK} has no data`);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
