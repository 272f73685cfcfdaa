/**
 * `toxiproxy-node-client` (the npm Toxiproxy client, unchanged) drives `handoff faultproxy` run as
 * a user runs it, a child process: it creates a proxy and toxics, and a connection through the
 * proxy shows them. SIGTERM stops the command cleanly; a bad --listen exits 2.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { Toxiproxy, type ICreateToxicBody, type Latency, type Timeout } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, tsxLoader } from '../support/cli.js';
import { connect, delay, fastestRoundTrip, roundTrip, startEchoServer, waitUntil, type TestServer } from './tcp.js';

let child: ChildProcessWithoutNullStreams;
let url = '';
let stderr = '';
let echo: TestServer;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

beforeAll(async () => {
  echo = await startEchoServer();
  child = spawn(
    process.execPath,
    ['--import', tsxLoader, path.join(repoRoot, 'src', 'cli', 'entry.ts'), 'faultproxy', '--listen', '127.0.0.1:0'],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: 'pipe' },
  );
  exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  await waitUntil(() => /API on (http:\/\/\S+)/.test(stderr) || child.exitCode !== null, 30_000, 'the API address');
  url = /API on (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
  expect(url, stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await echo.close();
});

describe('toxiproxy-node-client against handoff faultproxy', () => {
  it('creates a proxy and a latency toxic; a connection through the proxy is slowed, then not', async () => {
    const toxiproxy = new Toxiproxy(url);
    expect(await toxiproxy.getVersion()).toMatch(/version/);
    const proxy = await toxiproxy.createProxy({
      name: 'echo',
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${echo.port}`,
    });
    expect(proxy.enabled).toBe(true);
    const port = Number(proxy.listen.split(':').pop());

    const c = await connect(port);
    const baseline = await fastestRoundTrip(c, 'a');
    const body: ICreateToxicBody<Latency> = {
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    };
    const toxic = await proxy.addToxic(body);
    expect(toxic.toJson()).toEqual(body);
    const slowed = await roundTrip(c, 'b');
    expect(baseline).toBeLessThan(100);
    expect(slowed).toBeGreaterThanOrEqual(190);

    const fetched = await proxy.getToxic('slow');
    expect(fetched.attributes).toEqual({ latency: 200, jitter: 0 });
    const updated = await fetched.update({ ...body, attributes: { latency: 400, jitter: 0 } });
    expect(updated.attributes).toEqual({ latency: 400, jitter: 0 });
    expect(await roundTrip(c, 'c')).toBeGreaterThanOrEqual(390);

    await updated.remove();
    expect(await fastestRoundTrip(c, 'd')).toBeLessThan(100);
    c.socket.destroy();
  });

  it('lists, populates, disables, resets and removes proxies', async () => {
    const toxiproxy = new Toxiproxy(url);
    const populated = await toxiproxy.populate([
      { name: 'a', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` },
      { name: 'b', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` },
    ]);
    expect(Object.keys(populated).sort()).toEqual(['a', 'b']);
    expect(Object.keys(await toxiproxy.getAll()).sort()).toEqual(['a', 'b', 'echo']);

    const a = await toxiproxy.get('a');
    const port = Number(a.listen.split(':').pop());
    const timeout: ICreateToxicBody<Timeout> = {
      name: 'hold',
      type: 'timeout',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    };
    await a.addToxic(timeout);
    const down = await a.update({ enabled: false, listen: a.listen, upstream: a.upstream });
    expect(down.enabled).toBe(false);
    await expect(connect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await toxiproxy.reset();
    const after = await toxiproxy.get('a');
    expect(after.enabled).toBe(true);
    const c = await connect(port);
    await roundTrip(c, 'through');
    c.socket.destroy();

    await after.remove();
    await expect(toxiproxy.get('a')).rejects.toThrow(/404/);
  });

  it('SIGTERM closes the proxies and the API and exits 0', async () => {
    const toxiproxy = new Toxiproxy(url);
    const b = await toxiproxy.get('b');
    const c = await connect(Number(b.listen.split(':').pop()));
    await roundTrip(c, 'x');
    child.kill('SIGTERM');
    const result = await Promise.race([exited, delay(15_000).then(() => ({ code: -1, signal: null }))]);
    expect(result).toEqual({ code: 0, signal: null });
    await waitUntil(() => c.endedAt !== null || c.closedAt !== null, 5_000, 'the proxied connection to end');
    c.socket.destroy();
  });

  it('a bad --listen exits 2 with a message naming the flag', async () => {
    const result = await runCli(['faultproxy', '--listen', 'nowhere'], { timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--listen: "nowhere" is not HOST:PORT/);
    const host = await runCli(['faultproxy', '--listen', 'db.example.com:80'], { timeoutMs: 30_000 });
    expect(host.code).toBe(2);
    expect(host.stderr).toMatch(/--listen: "db\.example\.com" is not an IP address/);
  });
});
