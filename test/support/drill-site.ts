/**
 * A site for the rollback drills: a real HTTP server on 127.0.0.1 that answers every request with
 * its site name (body and `x-drill-site` header), a `/healthz` that can be made to fail, its
 * request and 5xx counts in Prometheus text format at `/metrics`, and a
 * controllable share of 5xx answers (deterministic: at a rate of 0.2 exactly every fifth request
 * fails). It notes when it answered its first 5xx, on both clocks the drills compare with.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DrillSiteStats {
  requests: number;
  errors: number;
  healthChecks: number;
  /** `performance.now()` of the first 5xx answered (null while none). */
  firstErrorPerf: number | null;
  /** `Date.now()` of the first 5xx answered (null while none). */
  firstErrorWall: number | null;
}

export interface DrillSite {
  name: string;
  url: string;
  /** From now on, this share of the requests (not /healthz) is answered 500. */
  setErrorRate(rate: number): void;
  /** Whether /healthz answers 200 (true) or 503 (false). */
  setHealthy(healthy: boolean): void;
  readonly stats: DrillSiteStats;
  close(): Promise<void>;
}

export async function startDrillSite(name: string): Promise<DrillSite> {
  let rate = 0;
  let counted = 0;
  let healthy = true;
  const stats: DrillSiteStats = { requests: 0, errors: 0, healthChecks: 0, firstErrorPerf: null, firstErrorWall: null };
  const server = http.createServer((req, res) => {
    // Drain the request body (if any) before answering.
    req.resume();
    res.setHeader('x-drill-site', name);
    if (req.url === '/healthz') {
      stats.healthChecks++;
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? `${name} ok\n` : `${name} is unwell\n`);
      return;
    }
    if (req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        `# TYPE drill_requests_total counter\ndrill_requests_total{site="${name}"} ${stats.requests}\n` +
          `# TYPE drill_errors_total counter\ndrill_errors_total{site="${name}"} ${stats.errors}\n`,
      );
      return;
    }
    stats.requests++;
    const before = Math.floor(counted * rate);
    counted++;
    if (Math.floor(counted * rate) > before) {
      stats.errors++;
      stats.firstErrorPerf ??= performance.now();
      stats.firstErrorWall ??= Date.now();
      res.statusCode = 500;
      res.end(`${name} failed\n`);
      return;
    }
    res.end(`${name}\n`);
  });
  // Longer than the router's upstream pool keeps idle connections (4 s), as a real service would be.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    setErrorRate(next) {
      rate = Math.max(0, Math.min(1, next));
      counted = 0;
    },
    setHealthy(next) {
      healthy = next;
    },
    stats,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
