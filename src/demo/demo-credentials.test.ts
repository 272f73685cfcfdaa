import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../common/events.js';
import { startDemoCredentials, type DemoCredentials } from './demo-credentials.js';
import type { DemoDatabases } from './demo-sites.js';

/** The URLs only: the delivery never touches the servers (an in-memory stand-in of the two sites). */
function sites(): DemoDatabases {
  const site = (port: number): DemoDatabases['source'] => ({
    server: null as unknown as DemoDatabases['source']['server'],
    shopUrl: `postgresql://postgres:su@127.0.0.1:${port}/shop`,
    appUrl: `postgresql://demo_app_blue:blue-${port}@127.0.0.1:${port}/shop`,
    appUrlFor: (role, password) => `postgresql://${role}:${password}@127.0.0.1:${port}/shop`,
  });
  return { source: site(5001), target: site(5002), rotationPassword: 'green-pw', stop: async () => undefined };
}

const read = (dir: string, site: string): string => fs.readFileSync(path.join(dir, `${site}.url`), 'utf8').trim();
const mode = (file: string): number => fs.statSync(file).mode & 0o777;

describe('the demo credentials delivery', () => {
  let delivery: DemoCredentials | null = null;
  afterEach(() => delivery?.close());

  it('starts blue in private files, delivers green on pg-credentials-rotated, counts it; never in the plan', () => {
    const notes: string[] = [];
    delivery = startDemoCredentials(sites(), (line) => notes.push(line));
    const dir = delivery.dir;
    expect(path.dirname(dir)).toBe(os.tmpdir());
    expect(mode(dir)).toBe(0o700);
    expect(read(dir, 'source')).toBe('postgresql://demo_app_blue:blue-5001@127.0.0.1:5001/shop');
    expect(read(dir, 'target')).toBe('postgresql://demo_app_blue:blue-5002@127.0.0.1:5002/shop');
    expect(mode(path.join(dir, 'target.url'))).toBe(0o600);
    expect(delivery.plan).toMatchObject({ credentialsDir: dir, passwordEnv: 'HANDOFF_DEMO_ROTATION_PASSWORD' });
    expect(delivery.env).toEqual({ HANDOFF_DEMO_ROTATION_PASSWORD: 'green-pw' });

    const events = createEventBus();
    delivery.observe(events);
    events.emit('pg-credentials-rotated', {
      database: 'shop',
      live: 'demo_app_green',
      retiring: 'demo_app_blue',
      sites: ['target'],
      rotation: 1,
    });
    // Only the sites the rotation names.
    expect(read(dir, 'target')).toBe('postgresql://demo_app_green:green-pw@127.0.0.1:5002/shop');
    expect(read(dir, 'source')).toMatch(/^postgresql:\/\/demo_app_blue:/);
    expect(mode(path.join(dir, 'target.url'))).toBe(0o600);
    events.emit('pg-credentials-retired', { database: 'shop', role: 'demo_app_blue', terminated: 0 });
    // A role it has no credentials for is not delivered.
    events.emit('pg-credentials-rotated', {
      database: 'shop',
      live: 'someone_else',
      retiring: 'demo_app_green',
      sites: ['source', 'target'],
      rotation: 2,
    });
    expect(read(dir, 'target')).toMatch(/^postgresql:\/\/demo_app_green:/);
    expect(notes.join('\n')).toMatch(/demo_app_green is live; delivered to the services on target/);
    expect(notes.join('\n')).not.toMatch(/green-pw|blue-500/);
    delivery.close();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('removes the directory a dead demo left, not a living one', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    const stale = fs.mkdtempSync(path.join(os.tmpdir(), `handoff-demo-credentials-${deadPid}-`));
    const living = fs.mkdtempSync(path.join(os.tmpdir(), `handoff-demo-credentials-${process.ppid}-`));
    try {
      const notes: string[] = [];
      delivery = startDemoCredentials(sites(), (line) => notes.push(line));
      expect(fs.existsSync(stale)).toBe(false);
      expect(fs.existsSync(living)).toBe(true);
      expect(notes.join('\n')).toMatch(/removed \d+ credentials directories earlier demos left behind/);
    } finally {
      fs.rmSync(stale, { recursive: true, force: true });
      fs.rmSync(living, { recursive: true, force: true });
    }
  });
});
