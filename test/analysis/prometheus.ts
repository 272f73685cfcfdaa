/**
 * A real Prometheus server (the Debian package's /usr/bin/prometheus) for tests: free port on
 * 127.0.0.1, a temporary config and storage directory, a short scrape interval; stopped by close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { freePort, sleep } from '../../src/common/net.js';
import { makeTempDir } from '../support/tmp.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface ScrapeTarget {
  /** host:port */
  address: string;
  metricsPath?: string;
  bearerToken?: string;
}

export interface TestPrometheus {
  url: string;
  close(): Promise<void>;
  /** Waits (bounded) until an instant query returns at least one series. */
  waitForSeries(query: string, timeoutMs?: number): Promise<void>;
}

export async function startTestPrometheus(targets: ScrapeTarget[], scrapeIntervalS = 1): Promise<TestPrometheus> {
  if (!fs.existsSync(PROMETHEUS_BIN)) {
    throw new Error(`Prometheus is not installed at ${PROMETHEUS_BIN} (apt-get install prometheus; .ci/run does it)`);
  }
  const tmp = makeTempDir('handoff-prom-');
  const port = await freePort();
  const scrapeConfigs = targets
    .map(
      (t, i) => `  - job_name: job${i}
    scrape_interval: ${scrapeIntervalS}s
    scrape_timeout: ${scrapeIntervalS}s
    metrics_path: ${t.metricsPath ?? '/metrics'}
${t.bearerToken ? `    authorization:\n      credentials: ${JSON.stringify(t.bearerToken)}\n` : ''}    static_configs:
      - targets: [${JSON.stringify(t.address)}]`,
    )
    .join('\n');
  const config = path.join(tmp.dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:\n  scrape_interval: ${scrapeIntervalS}s\n  evaluation_interval: ${scrapeIntervalS}s\nscrape_configs:\n${scrapeConfigs}\n`,
    { mode: 0o600 },
  );
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(tmp.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    tmp.cleanup();
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      tmp.cleanup();
      throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
    }
    try {
      const res = await request(`${url}/-/ready`, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.text();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`prometheus did not become ready within 60 s: ${output}`);
    }
    await sleep(200);
  }

  return {
    url,
    close,
    async waitForSeries(query, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const res = await request(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.body.json()) as { data?: { result?: unknown[] } };
        if ((body.data?.result?.length ?? 0) > 0) return;
        if (Date.now() > end) throw new Error(`no series for ${query} within ${timeoutMs} ms`);
        await sleep(250);
      }
    },
  };
}
