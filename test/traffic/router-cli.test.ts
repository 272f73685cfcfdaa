import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort } from '../../src/common/net.js';
import { repoRoot, runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';
import { startSite, type TestSite } from './support/sites.js';

const TOKEN = 'cli-router-token-9d8e7f6a5b4c';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('handoff router (command line)', () => {
  it('refuses to start without an admin token: exit 2, says how to give one, no stack', async () => {
    const env = { HANDOFF_ROUTER_TOKEN: '' };
    const result = await runCli(
      ['router', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--site', 'source=http://127.0.0.1:9'],
      { env },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('HANDOFF_ROUTER_TOKEN');
    expect(result.stderr).toContain('--admin-token-file');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [
      ['--listen', 'nowhere', '--admin', '127.0.0.1:0', '--site', 'source=http://127.0.0.1:9'],
      '--listen: "nowhere" is not HOST:PORT',
    ],
    [['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--site', 'Source=http://x'], '--site "Source=http://x"'],
    [
      ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--site', 'source=ftp://x'],
      '--site source: must be an http:// or https:// URL',
    ],
    [
      ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--site', 'source=http://x', '--max-read-lag', 'soon'],
      '--max-read-lag: "soon" is not a duration',
    ],
  ])('refuses bad flags with exit 2: %j', async (flags, message) => {
    const result = await runCli(['router', ...flags], { env: { HANDOFF_ROUTER_TOKEN: TOKEN } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('runs from a config file and a token file, proxies, answers the admin API, and stops on SIGTERM without printing the token', async () => {
    const site: TestSite = await startSite('source');
    cleanups.push(() => site.close());
    const { dir, cleanup } = makeTempDir();
    cleanups.push(cleanup);
    const [listen, adminPort] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
    fs.writeFileSync(
      path.join(dir, 'router.yaml'),
      `listen: 127.0.0.1:${listen}\nadmin: 127.0.0.1:${adminPort}\nadminTokenFile: token\nsites:\n  source: ${site.url}\n  target: ${site.url}\nstickyAfterWrite: 2s\n`,
    );
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/entry.ts'),
        'router',
        '--config',
        path.join(dir, 'router.yaml'),
        '--log-format',
        'json',
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, HANDOFF_ROUTER_TOKEN: '', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => void child.kill('SIGKILL'));
    let stderr = '';
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router did not start: ${stderr}`)), 30_000);
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('router: proxy on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => reject(new Error(`router exited: ${stderr}`)));
    });
    const proxied = await request(`http://127.0.0.1:${listen}/hello`, { method: 'POST', body: 'x' });
    expect(await proxied.body.text()).toBe('source');
    expect(String(proxied.headers['set-cookie'])).toContain('Max-Age=2');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const routes = await request(`http://127.0.0.1:${adminPort}/v1/routes`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ reads: { source: 0.5, target: 0.5 } }),
    });
    expect(routes.statusCode).toBe(200);
    await routes.body.text();
    const refused = await request(`http://127.0.0.1:${adminPort}/v1/state`);
    expect(refused.statusCode).toBe(401);
    await refused.body.text();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('router-routes-changed');
    expect(stderr).toContain('router stopped');
    expect(stderr).not.toContain(TOKEN);
  });
});
