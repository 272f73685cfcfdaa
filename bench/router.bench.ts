/**
 * The built-in router against the same load sent (a) straight to the upstream, (b) through
 * `handoff router` (the real command, its own process), (c) through nginx as a plain reverse proxy
 * (1 worker, upstream keep-alive), all in one run, rounds interleaved so background noise hits
 * each alike. Then 100 weight changes through the admin API while reads and writes flow, counting
 * errors. The load generator (this process) sends a fixed count of requests at fixed concurrency
 * over keep-alive connections and records latency in a fixed-memory histogram; then the same
 * targets at a steady rate (1,000 requests/s by default), where each proxy's CPU per request is
 * what it costs a service in production, beside the upstream's own (one trivial Node hop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { freePort } from '../src/common/net.js';
import { createHistogram } from '../src/traffic/builtin/histogram.js';
import type { Benchmark, BenchResult } from './harness.js';
import { shadowPhase } from './router-shadow.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NGINX = '/usr/sbin/nginx';
const TOKEN = 'bench-router-admin-token-0123456789';
const COUNT = Number(process.env.ROUTER_BENCH_COUNT ?? 20_000);
const CONCURRENCY = 32;
const ROUNDS = 3;
const LATENCY_COUNT = 1500;
/** The paced phase: a steady rate, as a service sees it, rather than as many requests as fit. */
const PACED_RATE = Number(process.env.ROUTER_BENCH_PACED_RATE ?? 1000);
const PACED_SECONDS = Number(process.env.ROUTER_BENCH_PACED_SECONDS ?? 5);
const PACED_MAX_IN_FLIGHT = 256;

const UPSTREAM_SOURCE = `
const http = require('node:http');
const body = Buffer.from('{"ok":true,"site":"' + process.argv[1] + '"}');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2]), '127.0.0.1');
`;

/** The floor for any Node proxy: node:http in front of an undici Pool, with no routing logic at all. */
const BARE_PROXY_SOURCE = `
const http = require('node:http');
const { Pool } = require('undici');
const origin = 'http://127.0.0.1:' + process.argv[1];
const pool = new Pool(origin, { connections: 256 });
http.createServer((req, res) => {
  pool.dispatch({ origin, path: req.url, method: req.method, headers: { 'x-forwarded-for': req.socket.remoteAddress } , body: null }, {
    onRequestStart() {},
    onResponseStart(c, status, headers) { res.writeHead(status, headers); },
    onResponseData(c, chunk) { res.write(chunk); },
    onResponseEnd() { res.end(); },
    onResponseError() { res.destroy(); },
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

interface PacedResult extends LoadResult {
  sent: number;
  /** Requests that were due but not sent because PACED_MAX_IN_FLIGHT were already waiting. */
  notSent: number;
}

/**
 * Sends GETs at `rate` per second for `seconds` (bounded: at most PACED_MAX_IN_FLIGHT in flight,
 * a request due beyond that is counted as not sent), then waits for the last answers (at most
 * 10 s). At a steady rate below saturation every request pays its own system calls and wake-ups,
 * which is what a proxy costs a service in production; the fixed-count load above measures the
 * most a proxy can carry, where requests share them.
 */
export async function paced(url: string, rate: number, seconds: number): Promise<PacedResult> {
  const pool = new Pool(url, { connections: PACED_MAX_IN_FLIGHT, pipelining: 1 });
  const histogram = createHistogram();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let notSent = 0;
  let errors = 0;
  const one = async (i: number): Promise<void> => {
    const t0 = performance.now();
    try {
      const response = await pool.request({ path: `/items/${i % 1000}`, method: 'GET' });
      await response.body.dump();
      if (response.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    histogram.record((performance.now() - t0) * 1000);
  };
  const started = performance.now();
  let due = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= seconds * 1000) break;
    const target = Math.floor((elapsed / 1000) * rate);
    while (due < target) {
      due++;
      if (inFlight.size >= PACED_MAX_IN_FLIGHT) {
        notSent++;
        continue;
      }
      const request = one(sent++);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(inFlight), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  errors += inFlight.size;
  await pool.destroy();
  return { ...loadResult(histogram, sent / seconds, errors), sent, notSent };
}

export function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export function start(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): ChildProcess {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`bench: ${path.basename(command)} exited ${code}: ${stderr}`);
  });
  return child;
}

export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** Sends `count` requests at `concurrency`; `pick(i)` decides GET or POST. */
export async function load(
  url: string,
  count: number,
  pick: (i: number) => 'GET' | 'POST' = () => 'GET',
  concurrency = CONCURRENCY,
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const histogram = createHistogram();
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const method = pick(i);
        const t0 = performance.now();
        try {
          const response = await pool.request({
            path: `/items/${i % 1000}`,
            method,
            body: method === 'POST' ? '{"n":1}' : undefined,
          });
          await response.body.dump();
          if (response.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        histogram.record((performance.now() - t0) * 1000);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return loadResult(histogram, count / elapsed, errors);
}

/** Requests per second, p50 and p99 (from the histogram's microseconds) and errors. */
function loadResult(histogram: ReturnType<typeof createHistogram>, rps: number, errors: number): LoadResult {
  return {
    rps,
    p50Ms: (histogram.quantile(0.5) ?? 0) / 1000,
    p99Ms: (histogram.quantile(0.99) ?? 0) / 1000,
    errors,
  };
}

function nginxConfig(dir: string, listen: number, upstream: number): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${path.join(dir, t)};`)
    .join('\n');
  return `${user}worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  upstream app { server 127.0.0.1:${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
}

/** CPU seconds (user + system) used so far by these processes and their children's live processes. */
function cpuSeconds(pids: number[]): number {
  const all = new Set(pids);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (all.has(Number(fields[1]))) all.add(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  let ticks = 0;
  for (const pid of all) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

export const routerBenchmark: Benchmark = {
  name: 'router',
  async run(): Promise<BenchResult> {
    if (!fs.existsSync(NGINX))
      throw new Error(
        `${NGINX} not found: nginx is this benchmark's baseline (a plain reverse proxy); install it (Debian: apt-get install nginx)`,
      );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-router-bench-'));
    const children: ChildProcess[] = [];
    try {
      const [sourcePort, targetPort, routerPort, adminPort, nginxPort, barePort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      const upstream = start(process.execPath, ['-e', UPSTREAM_SOURCE, 'source', String(sourcePort)]);
      children.push(upstream);
      children.push(start(process.execPath, ['-e', UPSTREAM_SOURCE, 'target', String(targetPort)]));
      const bare = start(
        process.execPath,
        ['-e', BARE_PROXY_SOURCE, String(sourcePort), String(barePort)],
        {},
        repoRoot,
      );
      children.push(bare);
      fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, sourcePort));
      const nginx = start(NGINX, [
        '-p',
        dir,
        '-c',
        path.join(dir, 'nginx.conf'),
        '-e',
        path.join(dir, 'error.log'),
        '-g',
        'daemon off;',
      ]);
      children.push(nginx);
      const router = start(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(repoRoot, 'src/cli/entry.ts'),
          'router',
          '--listen',
          `127.0.0.1:${routerPort}`,
          '--admin',
          `127.0.0.1:${adminPort}`,
          '--site',
          `source=http://127.0.0.1:${sourcePort}`,
          '--site',
          `target=http://127.0.0.1:${targetPort}`,
          '--max-read-lag',
          'off',
          '--log-level',
          'warn',
        ],
        { HANDOFF_ROUTER_TOKEN: TOKEN },
      );
      children.push(router);
      await Promise.all(
        [sourcePort, targetPort, nginxPort, routerPort, adminPort, barePort].map((p) => waitForPort(p, 30_000)),
      );

      const targets = {
        direct: `http://127.0.0.1:${sourcePort}`,
        nginx: `http://127.0.0.1:${nginxPort}`,
        router: `http://127.0.0.1:${routerPort}`,
        bare: `http://127.0.0.1:${barePort}`,
      };
      const names = ['direct', 'nginx', 'router', 'bare'] as const;
      for (const url of Object.values(targets)) await load(url, 3000); // warm-up (JIT, pools)
      const runs: Record<keyof typeof targets, LoadResult[]> = { direct: [], nginx: [], router: [], bare: [] };
      const quiet: Record<keyof typeof targets, LoadResult[]> = { direct: [], nginx: [], router: [], bare: [] };
      // CPU time the proxy process itself spends per request: unlike throughput, other work on the
      // machine does not change it much, so it shows how much load each proxy can carry.
      const proxyPids: Partial<Record<keyof typeof targets, number[]>> = {
        nginx: [nginx.pid ?? -1],
        router: [router.pid ?? -1],
        bare: [bare.pid ?? -1],
      };
      const cpu: Record<keyof typeof targets, number> = { direct: 0, nginx: 0, router: 0, bare: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        for (const name of names) {
          const pids = proxyPids[name] ?? [];
          const before = cpuSeconds(pids);
          runs[name].push(await load(targets[name], COUNT));
          cpu[name] += cpuSeconds(pids) - before;
        }
        // Added latency is measured unloaded: one request at a time, so queueing does not hide it.
        for (const name of names) quiet[name].push(await load(targets[name], LATENCY_COUNT, () => 'GET', 1));
      }

      // The same proxies at a steady rate (PACED_RATE), rounds interleaved: each one's CPU per request
      // and the upstream's (a trivial node:http server: what one Node hop costs on this machine).
      const pacedRuns: Record<keyof typeof targets, PacedResult[]> = { direct: [], nginx: [], router: [], bare: [] };
      const pacedCpu: Record<keyof typeof targets, { proxy: number; upstream: number; sent: number }> = {
        direct: { proxy: 0, upstream: 0, sent: 0 },
        nginx: { proxy: 0, upstream: 0, sent: 0 },
        router: { proxy: 0, upstream: 0, sent: 0 },
        bare: { proxy: 0, upstream: 0, sent: 0 },
      };
      const upstreamPids = [upstream.pid ?? -1];
      for (let round = 0; round < ROUNDS; round++) {
        for (const name of names) {
          const pids = proxyPids[name] ?? [];
          const proxyBefore = cpuSeconds(pids);
          const upstreamBefore = cpuSeconds(upstreamPids);
          const result = await paced(targets[name], PACED_RATE, PACED_SECONDS);
          pacedRuns[name].push(result);
          pacedCpu[name].proxy += cpuSeconds(pids) - proxyBefore;
          pacedCpu[name].upstream += cpuSeconds(upstreamPids) - upstreamBefore;
          pacedCpu[name].sent += result.sent;
        }
      }
      const pacedUs = (name: keyof typeof targets, part: 'proxy' | 'upstream'): number =>
        (pacedCpu[name][part] * 1e6) / Math.max(pacedCpu[name].sent, 1);
      const pacedP99 = (name: keyof typeof targets): number => median(pacedRuns[name].map((r) => r.p99Ms));
      const pacedNotSent = names.reduce((n, name) => n + pacedRuns[name].reduce((m, r) => m + r.notSent, 0), 0);
      const pacedErrors = names.reduce((n, name) => n + pacedRuns[name].reduce((m, r) => m + r.errors, 0), 0);

      const summary = (name: keyof typeof targets, from = runs): LoadResult => ({
        rps: median(from[name].map((r) => r.rps)),
        p50Ms: median(from[name].map((r) => r.p50Ms)),
        p99Ms: median(from[name].map((r) => r.p99Ms)),
        errors: from[name].reduce((n, r) => n + r.errors, 0),
      });
      const direct = summary('direct');
      const viaNginx = summary('nginx');
      const viaRouter = summary('router');
      const viaBare = summary('bare');
      const quietDirect = summary('direct', quiet);
      const quietNginx = summary('nginx', quiet);
      const quietRouter = summary('router', quiet);

      // 100 weight changes (reads and writes) while a mixed load flows through the router.
      let changes = 0;
      let changeErrors = 0;
      const mixed = load(targets.router, COUNT, (i) => (i % 5 === 0 ? 'POST' : 'GET'));
      let loadDone = false;
      void mixed.then(() => (loadDone = true));
      for (let i = 0; i < 100; i++) {
        const share = [0.01, 0.05, 0.25, 0.5, 0.995][i % 5] as number;
        const body = JSON.stringify({
          reads: { source: 1 - share, target: share },
          writes: i % 2 === 0 ? { source: 1, target: 0 } : { source: 0, target: 1 },
        });
        const response = await request(`http://127.0.0.1:${adminPort}/v1/routes`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${TOKEN}` },
          body,
        });
        await response.body.dump();
        if (response.statusCode === 200) changes++;
        else changeErrors++;
        if (!loadDone) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const underChanges = await mixed;
      const changesOverlapped = !loadDone || underChanges.rps > 0;

      // Shadow reads (issue 15): the same GETs with and without 20 % mirrored to the target.
      const adminUrl = `http://127.0.0.1:${adminPort}`;
      const shadow = await shadowPhase({
        routerUrl: targets.router,
        adminUrl,
        token: TOKEN,
        load,
        count: 5000,
        rounds: 3,
      });

      const addedMedianMs = quietRouter.p50Ms - quietDirect.p50Ms;
      const cpuUs = (name: keyof typeof targets): number => (cpu[name] * 1e6) / (COUNT * ROUNDS);
      const ratio = viaRouter.rps / viaNginx.rps;
      return {
        benchmark: 'router',
        baseline: `the same load (${COUNT} GETs at concurrency ${CONCURRENCY}, median of ${ROUNDS} interleaved rounds) sent directly to the upstream, through nginx ${NGINX} (1 worker, upstream keep-alive) and through a bare Node proxy; latency also one request at a time`,
        measurements: [
          { name: 'direct-rps', value: direct.rps, unit: 'requests/s' },
          { name: 'nginx-rps', value: viaNginx.rps, unit: 'requests/s' },
          { name: 'router-rps', value: viaRouter.rps, unit: 'requests/s' },
          { name: 'direct-p50', value: direct.p50Ms, unit: 'ms' },
          { name: 'nginx-p50', value: viaNginx.p50Ms, unit: 'ms' },
          { name: 'router-p50', value: viaRouter.p50Ms, unit: 'ms' },
          { name: 'direct-p99', value: direct.p99Ms, unit: 'ms' },
          { name: 'nginx-p99', value: viaNginx.p99Ms, unit: 'ms' },
          { name: 'router-p99', value: viaRouter.p99Ms, unit: 'ms' },
          { name: 'bare-node-proxy-rps', value: viaBare.rps, unit: 'requests/s' },
          { name: 'bare-node-proxy-p50', value: viaBare.p50Ms, unit: 'ms' },
          { name: 'bare-node-proxy-p99', value: viaBare.p99Ms, unit: 'ms' },
          { name: 'nginx CPU per request', value: cpuUs('nginx'), unit: 'µs' },
          { name: 'router CPU per request', value: cpuUs('router'), unit: 'µs' },
          { name: 'bare node proxy CPU per request', value: cpuUs('bare'), unit: 'µs' },
          { name: `paced ${PACED_RATE}/s: router CPU per request`, value: pacedUs('router', 'proxy'), unit: 'µs' },
          {
            name: `paced ${PACED_RATE}/s: bare node proxy CPU per request`,
            value: pacedUs('bare', 'proxy'),
            unit: 'µs',
          },
          { name: `paced ${PACED_RATE}/s: nginx CPU per request`, value: pacedUs('nginx', 'proxy'), unit: 'µs' },
          {
            name: `paced ${PACED_RATE}/s: upstream (trivial node:http server) CPU per request, direct`,
            value: pacedUs('direct', 'upstream'),
            unit: 'µs',
          },
          { name: `paced ${PACED_RATE}/s: direct-p99`, value: pacedP99('direct'), unit: 'ms' },
          { name: `paced ${PACED_RATE}/s: router-p99`, value: pacedP99('router'), unit: 'ms' },
          { name: `paced ${PACED_RATE}/s: nginx-p99`, value: pacedP99('nginx'), unit: 'ms' },
          { name: `paced ${PACED_RATE}/s: not sent (all proxies)`, value: pacedNotSent, unit: 'requests' },
          { name: `paced ${PACED_RATE}/s: errors (all proxies)`, value: pacedErrors, unit: 'requests' },
          { name: 'unloaded direct-p50', value: quietDirect.p50Ms, unit: 'ms' },
          { name: 'unloaded nginx-p50', value: quietNginx.p50Ms, unit: 'ms' },
          { name: 'unloaded router-p50', value: quietRouter.p50Ms, unit: 'ms' },
          { name: 'unloaded router-p99', value: quietRouter.p99Ms, unit: 'ms' },
          { name: 'router-added-p50 (unloaded)', value: addedMedianMs, unit: 'ms' },
          { name: 'router-added-p50 (under load)', value: viaRouter.p50Ms - direct.p50Ms, unit: 'ms' },
          { name: 'errors (all phases)', value: direct.errors + viaNginx.errors + viaRouter.errors, unit: 'requests' },
          { name: 'weight changes applied under load', value: changes, unit: 'changes' },
          { name: 'errors during weight changes', value: underChanges.errors + changeErrors, unit: 'requests' },
          { name: 'router-rps during weight changes', value: underChanges.rps, unit: 'requests/s' },
          ...shadow.measurements,
        ],
        ratios: {
          'router/nginx throughput': ratio,
          'router/direct throughput': viaRouter.rps / direct.rps,
          'router/bare node proxy throughput': viaRouter.rps / viaBare.rps,
          'nginx/direct throughput': viaNginx.rps / direct.rps,
          'nginx/router CPU per request (capacity ratio)': cpuUs('nginx') / Math.max(cpuUs('router'), 1e-6),
          'bare/router CPU per request': cpuUs('bare') / Math.max(cpuUs('router'), 1e-6),
          'paced: router/bare node proxy CPU per request':
            pacedUs('router', 'proxy') / Math.max(pacedUs('bare', 'proxy'), 1e-6),
          'paced: nginx/router CPU per request (capacity ratio)':
            pacedUs('nginx', 'proxy') / Math.max(pacedUs('router', 'proxy'), 1e-6),
          'paced: router CPU per request / one trivial Node hop':
            pacedUs('router', 'proxy') / Math.max(pacedUs('direct', 'upstream'), 1e-6),
          'router-added/nginx-added unloaded p50': addedMedianMs / Math.max(quietNginx.p50Ms - quietDirect.p50Ms, 1e-3),
          ...shadow.ratios,
        },
        targets: [
          { name: 'throughput', target: 'at least 0.5x nginx', met: ratio >= 0.5 },
          {
            name: 'added median latency',
            target: 'under 1 ms vs direct (one request at a time)',
            met: addedMedianMs < 1,
          },
          {
            name: 'weight changes under load',
            target: '100 changes, zero errors',
            met: changes === 100 && changeErrors === 0 && underChanges.errors === 0 && changesOverlapped,
          },
          ...shadow.targets,
        ],
        notes: [
          `machine: ${os.cpus().length} cores shared by the load generator, the upstream(s) and the proxy under test`,
          `rounds (rps): ${names.map((n) => `${n} ${runs[n].map((r) => r.rps.toFixed(0)).join('/')}`).join(', ')}`,
          `load average at the end: ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')} (other work on the machine skews every figure; compare ratios)`,
          'bare = node:http + undici Pool with no routing logic: the ceiling of any proxy built on Node here',
          `paced: ${PACED_RATE} GETs/s for ${PACED_SECONDS} s through each, ${ROUNDS} interleaved rounds, at most ${PACED_MAX_IN_FLIGHT} in flight; CPU per request summed over the rounds; the upstream's CPU with no proxy in front is what one Node hop costs on this machine`,
          'the weight-change phase mixes 80 % GET and 20 % POST, alternating writes between the sites and reads over 1 % to 99.5 % shares',
          ...shadow.notes,
        ],
      };
    } finally {
      await Promise.all(children.map((child) => stop(child, child.spawnfile === NGINX ? 'SIGQUIT' : 'SIGTERM')));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
