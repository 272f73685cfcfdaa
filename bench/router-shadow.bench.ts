/**
 * `npm run bench -- router-shadow`: the router benchmark's shadow phase alone (bench/router-shadow.ts),
 * for machines without nginx: two upstreams and `handoff router` (the real command, its own process),
 * then the same GETs with no shadow and with 20 % of reads mirrored to the target, interleaved.
 * `npm run bench -- router` runs the same phase after its nginx comparison.
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/common/net.js';
import type { Benchmark, BenchResult } from './harness.js';
import { load, start, stop, waitForPort } from './router.bench.js';
import { shadowPhase } from './router-shadow.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-router-admin-token-0123456789';
const COUNT = Number(process.env.ROUTER_BENCH_COUNT ?? 3000);

const UPSTREAM = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: 'item ' + i })) }));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1');
`;

export const routerShadowBenchmark: Benchmark = {
  name: 'router-shadow',
  async run(): Promise<BenchResult> {
    const children: ChildProcess[] = [];
    try {
      const [sourcePort, targetPort, routerPort, adminPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      children.push(start(process.execPath, ['-e', UPSTREAM, String(sourcePort)]));
      children.push(start(process.execPath, ['-e', UPSTREAM, String(targetPort)]));
      children.push(
        start(
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
        ),
      );
      await Promise.all([sourcePort, targetPort, routerPort, adminPort].map((p) => waitForPort(p, 30_000)));
      const routerUrl = `http://127.0.0.1:${routerPort}`;
      await load(routerUrl, 2000); // warm-up (JIT, pools)
      const shadow = await shadowPhase({
        routerUrl,
        adminUrl: `http://127.0.0.1:${adminPort}`,
        token: TOKEN,
        load,
        count: COUNT,
        rounds: 3,
      });
      return {
        benchmark: 'router-shadow',
        baseline: `the same GETs through the same router with no shadow, interleaved rounds (${COUNT} per round)`,
        measurements: shadow.measurements,
        ratios: shadow.ratios,
        targets: shadow.targets,
        notes: [
          ...shadow.notes,
          `machine: ${os.cpus().length} cores shared by the load generator, both upstreams and the router; load average at the end ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}`,
        ],
      };
    } finally {
      await Promise.all(children.map((child) => stop(child)));
    }
  },
};
