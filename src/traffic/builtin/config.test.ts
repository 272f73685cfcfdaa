import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../../common/redact.js';
import { loadRouterConfig } from './config.js';

const TOKEN = 'config-test-token-abcdef123456';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function configDir(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-config-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'router.yaml'), yaml);
  fs.writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
  return dir;
}

describe('router configuration', () => {
  it('reads the file, resolves the token file beside it, lets flags win, and registers the token', () => {
    const dir = configDir(
      'listen: 127.0.0.1:8080\nadmin: 127.0.0.1:9090\nadminTokenFile: token\nsites: { source: "http://10.0.0.1:80", target: "http://10.0.0.2:80" }\nmaxReadLag: off\nreleaseConcurrency: 4\ntimeouts: { connect: 1s }\n',
    );
    const redactor = createRedactor();
    const options = loadRouterConfig(
      {
        config: path.join(dir, 'router.yaml'),
        listen: '0.0.0.0:18080',
        stickyAfterWrite: '2s',
        readMethods: 'get,head',
      },
      { cwd: '/', env: {}, redactor },
    );
    expect(options).toMatchObject({
      listen: { host: '0.0.0.0', port: 18080 },
      admin: { host: '127.0.0.1', port: 9090 },
      adminToken: TOKEN,
      maxReadLagMs: null,
      stickyAfterWriteMs: 2000,
      readMethods: ['GET', 'HEAD'],
      connectTimeoutMs: 1000,
      releaseConcurrency: 4,
    });
    expect(redactor.redact(`token ${TOKEN}`)).not.toContain(TOKEN);
  });

  it('takes the token from HANDOFF_ROUTER_TOKEN when no file is given, and refuses a short one', () => {
    const flags = { listen: '127.0.0.1:1', admin: '127.0.0.1:2', site: ['source=http://127.0.0.1:3'] };
    const ok = loadRouterConfig(flags, { cwd: '/', env: { HANDOFF_ROUTER_TOKEN: TOKEN }, redactor: createRedactor() });
    expect(ok.adminToken).toBe(TOKEN);
    const off = loadRouterConfig(
      { ...flags, stickyAfterWrite: '0' },
      { cwd: '/', env: { HANDOFF_ROUTER_TOKEN: TOKEN }, redactor: createRedactor() },
    );
    expect(off.stickyAfterWriteMs).toBe(0);
    expect(() =>
      loadRouterConfig(flags, { cwd: '/', env: { HANDOFF_ROUTER_TOKEN: 'short-token' }, redactor: createRedactor() }),
    ).toThrow('at least 16 characters');
  });

  it('names the file and the field that is wrong', () => {
    const dir = configDir(
      'listen: 127.0.0.1:8080\nadmin: 127.0.0.1:9090\nsites: { source: http://x }\nstickyAfterWrite: 5\nmaxQueue: 3\n',
    );
    expect(() =>
      loadRouterConfig(
        { config: path.join(dir, 'router.yaml') },
        { cwd: '/', env: { HANDOFF_ROUTER_TOKEN: TOKEN }, redactor: createRedactor() },
      ),
    ).toThrow(/router\.yaml:\d+:\d+: (stickyAfterWrite|maxQueue)/);
    expect(() =>
      loadRouterConfig({ config: path.join(dir, 'missing.yaml') }, { cwd: '/', env: {}, redactor: createRedactor() }),
    ).toThrow('cannot read the file');
  });

  it('names the flag or the config key of each value out of range, in its own units', () => {
    const env = { HANDOFF_ROUTER_TOKEN: TOKEN };
    const base = {
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      site: ['source=http://127.0.0.1:1', 'target=http://127.0.0.1:2'],
    };
    const load = (flags: Record<string, unknown>, config?: string) => () =>
      loadRouterConfig(
        { ...base, ...flags, ...(config ? { config } : {}) },
        { cwd: '/', env, redactor: createRedactor() },
      );
    expect(load({ maxHold: '0s' })).toThrow(/^--max-hold: must be at least 1ms$/);
    expect(load({ maxHold: '9999999h' })).toThrow(/^--max-hold: must be at most 10m$/);
    expect(load({ maxQueued: '1e99' })).toThrow(/^--max-queued: must be at most 1000000$/);
    expect(load({ readPaths: '/api,noslash' })).toThrow(/^--read-paths \(item 2\): .*must start with "\/"/);
    expect(load({ site: ['source=ftp://x', 'target=http://127.0.0.1:2'] })).toThrow(/^--site source: must be an http/);
    expect(load({ listen: '127.0.0.1:7000', admin: '127.0.0.1:7000' })).toThrow(
      /^--admin: the admin API needs an address of its own/,
    );
    const dir = configDir(
      'sites: { target: "http://127.0.0.1:2" }\nconnectionsPerSite: 99999\ntimeouts: { connect: 0s }\n',
    );
    const file = path.join(dir, 'router.yaml');
    expect(load({}, file)).toThrow(
      `${file}: timeouts.connect: must be at least 1ms; ${file}: connectionsPerSite: must be at most 10000`,
    );
  });

  it('points an unknown key in the config file at its own line', () => {
    const dir = configDir('listen: 127.0.0.1:8080\nadmin: 127.0.0.1:9090\n\n# a comment\nbogus: 1\n');
    expect(() =>
      loadRouterConfig(
        { config: path.join(dir, 'router.yaml') },
        { cwd: '/', env: { HANDOFF_ROUTER_TOKEN: TOKEN }, redactor: createRedactor() },
      ),
    ).toThrow(/router\.yaml:5:\d+: Unrecognized key: "bogus"/);
  });
});
