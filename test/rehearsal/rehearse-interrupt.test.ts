/**
 * Every child process is ended when handoff exits: a rehearsal interrupted (SIGINT) while the real
 * executor runs leaves nothing behind: not the executor, not the servers, and not the target's
 * service, which the executor started and which outlives a `handoff run --until` by design.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/common/children.js';
import { repoRoot, tsxLoader } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

interface Recorded {
  pid: number;
  name: string;
}

const recorded = (file: string): Recorded[] => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Recorded[];
  } catch {
    return [];
  }
};

/** The registry's records once `ready(names)` holds (or the bound passes, or the child exits). */
async function recordedOnce(
  registry: string,
  child: ChildProcess,
  boundMs: number,
  pollMs: number,
  ready: (names: string[]) => boolean,
): Promise<Recorded[]> {
  let seen: Recorded[] = [];
  for (const deadline = Date.now() + boundMs; Date.now() < deadline && child.exitCode === null;) {
    seen = recorded(registry);
    if (ready(seen.map((r) => r.name))) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return seen;
}

/** Of `records()`, those still alive after a bounded wait (a process may take a moment to be reaped after its SIGKILL). */
async function stillAlive(records: () => Recorded[]): Promise<string[]> {
  const alive = (): string[] =>
    records()
      .filter((r) => isAlive(r.pid))
      .map((r) => `${r.name} (${r.pid})`);
  for (const until = Date.now() + 10_000; alive().length > 0 && Date.now() < until;)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return alive();
}

/** `handoff demo --rehearse-reduced` in a child process of its own, in a fresh state directory. */
function startRehearsal(prefix: string, boundMs: number) {
  const tmp = makeTempDir(prefix);
  cleanups.push(tmp.cleanup);
  const stateDir = path.join(tmp.dir, 'state');
  const child = spawn(
    process.execPath,
    [
      '--import',
      tsxLoader,
      path.join(repoRoot, 'src', 'cli', 'entry.ts'),
      'demo',
      '--rehearse-reduced',
      '--state-dir',
      stateDir,
    ],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  return { child, registry: path.join(stateDir, 'processes.json'), stderr: () => stderr, exited, bound };
}

describe('an interrupted rehearsal', () => {
  it(
    'ends the executor, the services (also the one the executor started) and the servers on SIGINT',
    { timeout: 150_000 },
    async () => {
      const { child, registry, stderr, exited, bound } = startRehearsal('handoff-rehearse-int-', 140_000);
      try {
        // Once the target's service runs (the executor provisioned it), and the executor with it.
        const seen = await recordedOnce(
          registry,
          child,
          100_000,
          100,
          (names) =>
            /stage verify/.test(stderr()) && names.includes('executor') && names.some((n) => n.startsWith('target/')),
        );
        expect(
          seen.map((r) => r.name),
          stderr().slice(-2000),
        ).toContain('executor');
        expect(
          seen.some((r) => r.name.startsWith('target/')),
          JSON.stringify(seen),
        ).toBe(true);
        child.kill('SIGINT');
        expect(await exited).toBe(130);
        expect(stderr()).toContain('SIGINT: stopping every process the rehearsal started');
        // The services' credentials files (database URLs with passwords) went with it.
        expect(
          fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`handoff-rehearsal-credentials-${child.pid}-`)),
        ).toEqual([]);
        expect(await stillAlive(() => seen)).toEqual([]);
      } finally {
        clearTimeout(bound);
        for (const r of recorded(registry)) if (isAlive(r.pid)) process.kill(r.pid, 'SIGKILL');
      }
    },
  );

  it(
    'ends the servers it has started when stopped (SIGTERM) while the sites are still starting',
    { timeout: 120_000 },
    async () => {
      const { child, registry, stderr, exited, bound } = startRehearsal('handoff-rehearse-early-', 110_000);
      try {
        // As soon as the first database server is recorded, long before the router and the executor.
        const seen = await recordedOnce(registry, child, 60_000, 20, (names) =>
          names.some((n) => n.startsWith('postgres-')),
        );
        expect(
          seen.map((r) => r.name),
          stderr().slice(-2000),
        ).not.toContain('executor');
        expect(seen.some((r) => r.name.startsWith('postgres-'))).toBe(true);
        child.kill('SIGTERM');
        expect(await exited).toBe(143);
        expect(stderr()).toContain('SIGTERM: stopping every process the rehearsal started');
        expect(await stillAlive(() => [...seen, ...recorded(registry)])).toEqual([]);
      } finally {
        clearTimeout(bound);
        for (const r of recorded(registry)) if (isAlive(r.pid)) process.kill(r.pid, 'SIGKILL');
      }
    },
  );
});
