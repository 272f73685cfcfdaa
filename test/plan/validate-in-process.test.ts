/**
 * `handoff validate` through main() in this process (fast; the CLI tests spawn the real binary):
 * secret references the Kubernetes platform resolves, and a plan path relative to another cwd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { makeTempDir } from '../support/tmp.js';

const minimal = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/plans/minimal-local.yaml'), 'utf8');

async function validate(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const code = await main(['validate', ...args], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
    cwd,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

describe('handoff validate (in process)', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('resolves fromFile relative to the plan, leaves fromSecret to the Kubernetes platform, and says so', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    fs.mkdirSync(path.join(tmp.dir, 'plans', 'secrets'), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, 'plans', 'secrets', 'source-url'), 'postgresql://app:Fi1e-Secret@127.0.0.1/app\n');
    const text = minimal
      .replace('{ fromEnv: SOURCE_APP_DB }', '{ fromFile: secrets/source-url }')
      .replace('{ fromEnv: TARGET_APP_DB }', '{ fromSecret: { name: app-db, key: url } }');
    fs.writeFileSync(path.join(tmp.dir, 'plans', 'plan.yaml'), text);
    const result = await validate(['-f', 'plans/plan.yaml'], tmp.dir, { HANDOFF_STATE_DIR: path.join(tmp.dir, 'state') });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/secret references resolved \(1 fromSecret left to the Kubernetes platform at run time\)\n$/);
    expect(result.stdout + result.stderr).not.toContain('Fi1e-Secret');
    expect(fs.existsSync(path.join(tmp.dir, 'state'))).toBe(false);
  });

  it('reports a missing secret file at the reference, relative to the plan, exit 2', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    fs.mkdirSync(path.join(tmp.dir, 'plans'));
    fs.writeFileSync(path.join(tmp.dir, 'plans', 'plan.yaml'), minimal.replace('{ fromEnv: SOURCE_APP_DB }', '{ fromFile: gone }'));
    const result = await validate(['-f', 'plans/plan.yaml', '-o', 'json'], tmp.dir, { TARGET_APP_DB: 'postgresql://a@h/db' });
    expect(result.code).toBe(2);
    const json = JSON.parse(result.stdout) as { valid: boolean; errors: Array<{ line: number; path: string; message: string }> };
    expect(json.valid).toBe(false);
    expect(json.errors).toEqual([
      expect.objectContaining({ line: 10, path: 'spec.source.databases.app.url', message: expect.stringContaining('file gone does not exist') }),
    ]);
    // In process, the cwd given to main() is not the process's: the file is named by its full path.
    expect(result.stderr).toMatch(/^error: secret references could not be resolved:\n\S*plans\/plan\.yaml:10:19: spec\.source/);
  });
});
