/**
 * `handoff validate` is a pure check of a file: it must not load the database driver or the
 * Kubernetes client. The test runs the real CLI with a resolve hook that records every module the
 * process loads, and looks for them by path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsxLoader } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const hook = pathToFileURL(path.join(repoRoot, 'test', 'support', 'record-modules.mjs')).href;
const entry = path.join(repoRoot, 'src', 'cli', 'entry.ts');
const plan = path.join(repoRoot, 'test', 'fixtures', 'plans', 'design-example.yaml');

function loadedModules(args: string[]): { code: number | null; modules: string[]; stderr: string } {
  const { dir, cleanup } = makeTempDir('handoff-loaded-modules-');
  const record = path.join(dir, 'modules.txt');
  const result = spawnSync(process.execPath, ['--import', tsxLoader, '--import', hook, entry, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      HANDOFF_RECORD_MODULES: record,
      SOURCE_ORDERS_DB: 'postgresql://app@127.0.0.1:5432/orders',
      TARGET_ORDERS_DB: 'postgresql://app@127.0.0.1:5433/orders',
    },
    encoding: 'utf8',
    timeout: 150_000,
  });
  const modules = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').split('\n').filter(Boolean) : [];
  cleanup();
  return { code: result.status, modules, stderr: result.stderr };
}

const fromPackage = (modules: string[], name: string): string[] =>
  modules.filter((url) => url.includes(`/node_modules/${name}/`));

describe('modules a command loads', () => {
  it('handoff validate loads neither pg nor the Kubernetes client', { timeout: 200_000 }, () => {
    const { code, modules, stderr } = loadedModules(['validate', '-f', plan]);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(code).toBe(0);
    // The recording works: the command's own module and the plan loader were seen.
    expect(modules.some((url) => url.endsWith('/src/cli/commands/validate.ts'))).toBe(true);
    expect(modules.some((url) => url.endsWith('/src/plan/load.ts'))).toBe(true);
    expect(fromPackage(modules, 'pg')).toEqual([]);
    expect(fromPackage(modules, '@kubernetes/client-node')).toEqual([]);
  });

  it('handoff verify does load pg (the recording sees the driver when a command uses it)', { timeout: 200_000 }, () => {
    const { modules } = loadedModules([
      'verify',
      '--source',
      'postgresql://a@127.0.0.1:1/x',
      '--target',
      'postgresql://a@127.0.0.1:1/y',
    ]);
    expect(fromPackage(modules, 'pg').length).toBeGreaterThan(0);
  });
});
