/**
 * The rehearsal panel in headless Chromium (Debian's chromium through playwright-core): on the
 * rehearsed run's page it stays in place once the client module has drawn the run, shows a fault
 * named with HTML as text (no element made from it, no script run), and raises no page error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { RehearsalResult } from '../../src/rehearsal/faults/types.js';
import { rehearsalResultFile } from '../../src/report/rehearsal-result.js';
import { makeTempDir } from '../support/tmp.js';
import { HTML_TABLE, writeDashboardRuns } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const RUN = 'run-succeeded';

const result: RehearsalResult = {
  ok: true,
  runId: RUN,
  faults: [
    {
      name: HTML_TABLE,
      kind: 'network',
      stage: 'replicate',
      injectedAt: '2026-12-04T08:00:01.250Z',
      clearedAt: '2026-12-04T08:00:06.250Z',
      reaction: 'retry',
      recoveryMs: 6400,
      failedRequests: 3,
      detail: 'proxy replication disabled',
    },
  ],
  invariants: {
    lost: 0,
    unexpected: 0,
    duplicated: 0,
    stale: 0,
    wrongTotal: 0,
    negativeValue: 0,
    readYourWritesViolations: 0,
    dataIdentical: true,
    auditValid: true,
    leftBehind: [],
  },
  violated: [],
};

describe('the rehearsal panel in the dashboard page', () => {
  const tmp = makeTempDir('handoff-dashboard-rehearsal-browser-');
  let browser: Browser | undefined;
  let dashboard: Dashboard | undefined;

  beforeAll(async () => {
    const stateDir = path.join(tmp.dir, 'state');
    writeDashboardRuns(stateDir);
    fs.mkdirSync(path.dirname(rehearsalResultFile(stateDir)), { recursive: true });
    fs.writeFileSync(rehearsalResultFile(stateDir), JSON.stringify(result));
    dashboard = await startDashboard({
      stateDir,
      listen: { host: '127.0.0.1', port: 0 },
      token: null,
      redactor: createRedactor(),
      logger: createSilentLogger(),
    });
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed (scripts/test-prereqs.sh)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
      timeout: 60_000,
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    tmp.cleanup();
  });

  it('shows the invariants and the fault table after the client has drawn the run; the name as text', async () => {
    const context = await (browser as Browser).newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    try {
      await page.goto(`${(dashboard as Dashboard).url}/runs/${RUN}`, { waitUntil: 'load', timeout: 30_000 });
      await page.locator('#chart-weights').waitFor({ timeout: 15_000 }); // the client module has drawn
      const panel = page.locator('#rehearsal');
      expect(await panel.isVisible()).toBe(true);
      expect(await panel.locator('h2').innerText()).toContain('passed');
      expect(await page.locator('#rehearsal-invariants tbody tr').count()).toBe(10);
      const row = await page.locator('#rehearsal-faults tbody tr').innerText();
      expect(row).toContain(HTML_TABLE);
      expect(row).toContain('retry');
      expect(row).toContain('6.40 s');
      expect(await page.locator('#rehearsal img, #rehearsal script').count()).toBe(0);
      expect(await page.title()).toBe(`handoff ${RUN}`);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
