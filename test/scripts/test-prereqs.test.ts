/**
 * scripts/test-prereqs.sh (the `pretest` step and `.ci/run`): it detects each missing program the tests
 * use and installs it or names the command. Run with a made-up root for the absolute-path probes and a
 * PATH of our choosing, in dry-run mode: nothing is installed or removed on this machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/tmp.js';

const SCRIPT = path.resolve('scripts/test-prereqs.sh');
const APT_GET = '/usr/bin/apt-get';

let tmp: ReturnType<typeof makeTempDir> | undefined;

afterEach(() => tmp?.cleanup());

/** A fake root: `present` lists absolute probes that exist there; `bin` lists commands on its PATH. */
function fakeMachine(present: string[], bin: Record<string, string>): { root: string; path: string } {
  const dir = makeTempDir('handoff-prereqs-');
  tmp = dir;
  for (const file of present) {
    const full = path.join(dir.dir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, '#!/bin/sh\n', { mode: 0o755 });
  }
  const binDir = path.join(dir.dir, 'path-bin');
  fs.mkdirSync(binDir);
  for (const [name, target] of Object.entries(bin)) fs.symlinkSync(target, path.join(binDir, name));
  return { root: dir.dir, path: binDir };
}

function run(machine: { root: string; path: string }, dryRun = true) {
  const result = spawnSync('/bin/bash', [SCRIPT], {
    env: {
      PATH: machine.path,
      HANDOFF_PREREQS_ROOT: machine.root,
      ...(dryRun ? { HANDOFF_PREREQS_DRY_RUN: '1' } : {}),
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('the test prerequisites step', () => {
  it('exits 0 silently when every program is present', () => {
    const result = run(
      fakeMachine(['usr/bin/prometheus', 'usr/bin/chromium', 'usr/bin/tmux'], { kubectl: '/bin/true' }),
      false,
    );
    expect(result).toEqual({ code: 0, stderr: '', stdout: '' });
  });

  it('names each missing Debian package and the apt-get command it would run as root', () => {
    const result = run(fakeMachine([], { kubectl: '/bin/true', 'apt-get': APT_GET }));
    // As root with apt-get it would install (dry run: exit 0); as anyone else it stops with the command.
    expect(result.code).toBe(process.getuid?.() === 0 ? 0 : 1);
    expect(result.stderr).toContain('missing /usr/bin/prometheus (Debian package prometheus)');
    expect(result.stderr).toContain('missing /usr/bin/chromium (Debian package chromium)');
    expect(result.stderr).toContain('missing /usr/bin/tmux (Debian package tmux)');
    expect(result.stderr).toContain(
      'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus chromium tmux',
    );
    expect(result.stdout).toBe('');
  });

  it('asks only for what is missing', () => {
    const result = run(
      fakeMachine(['usr/bin/prometheus', 'usr/bin/tmux'], { kubectl: '/bin/true', 'apt-get': APT_GET }),
    );
    expect(result.stderr).not.toContain('prometheus');
    expect(result.stderr).toMatch(/--no-install-recommends chromium$/m);
  });

  it('stops at once with the one command to run when it cannot install (no apt-get)', () => {
    const result = run(fakeMachine(['usr/bin/chromium', 'usr/bin/tmux'], { kubectl: '/bin/true' }), false);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot install here (needs root and apt-get)');
    expect(result.stderr).toContain(
      '\n  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus\n',
    );
  });

  it('names kubectl, which Debian does not package at a usable version, with the command that installs it, together with the apt packages', () => {
    const result = run(fakeMachine([], { 'apt-get': APT_GET }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing kubectl, needed by the Kubernetes tests');
    const command = result.stderr.split('\n').find((line) => line.startsWith('  '));
    expect(command).toMatch(
      /^ {2}apt-get update && .* prometheus chromium tmux && curl -fsSLo \/usr\/local\/bin\/kubectl .*dl\.k8s\.io.* && chmod \+x \/usr\/local\/bin\/kubectl$/,
    );
  });
});
