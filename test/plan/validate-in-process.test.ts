/**
 * `handoff validate` through main() in this process (fast; the CLI tests spawn the real binary):
 * what it says it checked about secret references (Kubernetes Secrets are read by preflight and the
 * run, not by validate), fromSecret on a site that has no Kubernetes, and a plan path relative to
 * another cwd.
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

  it('resolves fromFile relative to the plan, says fromSecret is checked by preflight at run time, and counts both', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    fs.mkdirSync(path.join(tmp.dir, 'plans', 'secrets'), { recursive: true });
    fs.writeFileSync(
      path.join(tmp.dir, 'plans', 'secrets', 'source-url'),
      'postgresql://app:Fi1e-Secret@127.0.0.1/app\n',
    );
    const text = minimal
      .replace('{ fromEnv: SOURCE_APP_DB }', '{ fromFile: secrets/source-url }')
      .replace(
        /target:\n {4}platform: \{ kind: local \}/,
        'target:\n    platform: { kind: kubernetes, context: gke, namespace: shop }',
      )
      .replace('{ fromEnv: TARGET_APP_DB }', '{ fromSecret: { name: app-db, key: url } }');
    fs.writeFileSync(path.join(tmp.dir, 'plans', 'plan.yaml'), text);
    const env = { HANDOFF_STATE_DIR: path.join(tmp.dir, 'state') };
    const result = await validate(['-f', 'plans/plan.yaml'], tmp.dir, env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /; 2 secret references: 1 resolved from the environment or files, 1 Kubernetes Secret reference checked at run time by preflight \(validate reads no cluster\)\n$/,
    );
    expect(result.stdout + result.stderr).not.toContain('Fi1e-Secret');
    const json = await validate(['-f', 'plans/plan.yaml', '-o', 'json'], tmp.dir, env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      secretsResolved: true,
      secrets: { references: 2, resolved: 1, kubernetes: 1 },
    });
    expect(fs.existsSync(path.join(tmp.dir, 'state'))).toBe(false);
  });

  it('refuses fromSecret on a site that is not Kubernetes, at its line and column, exit 2', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    fs.writeFileSync(
      path.join(tmp.dir, 'plan.yaml'),
      minimal.replace('{ fromEnv: TARGET_APP_DB }', '{ fromSecret: { name: app-db, key: url } }'),
    );
    const result = await validate(['-f', 'plan.yaml', '-o', 'json'], tmp.dir, { SOURCE_APP_DB: 'postgresql://a@h/db' });
    expect(result.code).toBe(2);
    const json = JSON.parse(result.stdout) as {
      valid: boolean;
      errors: Array<{ line: number; column: number; path: string; message: string }>;
    };
    expect(json.errors).toEqual([
      {
        file: expect.stringContaining('plan.yaml') as unknown,
        line: 14,
        column: 33,
        path: 'spec.target.databases.app.url.fromSecret',
        message: expect.stringContaining(
          "the target site's platform is local, which has no Kubernetes Secrets",
        ) as unknown,
      },
    ]);
  });

  it('refuses a fromSecret outside the sites that does not name its context and namespace', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    const text = minimal.replace(
      '  rollback: { automatic: true }',
      '  traffic:\n    router: { kind: builtin, listen: "127.0.0.1:0", adminToken: { fromSecret: { name: router, key: token, namespace: shop } } }\n  rollback: { automatic: true }',
    );
    fs.writeFileSync(path.join(tmp.dir, 'plan.yaml'), text);
    const result = await validate(['-f', 'plan.yaml', '-o', 'json'], tmp.dir, {
      SOURCE_APP_DB: 'postgresql://a@h/db',
      TARGET_APP_DB: 'postgresql://b@h/db',
    });
    expect(result.code, result.stderr).toBe(2);
    const json = JSON.parse(result.stdout) as { errors: Array<{ path: string; message: string }> };
    expect(json.errors).toContainEqual(
      expect.objectContaining({
        line: 19,
        path: 'spec.traffic.router.adminToken.fromSecret',
        message: 'fromSecret outside a site has no site to take its context and namespace from; give both',
      }),
    );
  });

  it('reports a missing secret file at the reference, relative to the plan, exit 2', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    fs.mkdirSync(path.join(tmp.dir, 'plans'));
    fs.writeFileSync(
      path.join(tmp.dir, 'plans', 'plan.yaml'),
      minimal.replace('{ fromEnv: SOURCE_APP_DB }', '{ fromFile: gone }'),
    );
    const result = await validate(['-f', 'plans/plan.yaml', '-o', 'json'], tmp.dir, {
      TARGET_APP_DB: 'postgresql://a@h/db',
    });
    expect(result.code).toBe(2);
    const json = JSON.parse(result.stdout) as {
      valid: boolean;
      errors: Array<{ line: number; path: string; message: string }>;
    };
    expect(json.valid).toBe(false);
    expect(json.errors).toEqual([
      expect.objectContaining({
        line: 10,
        path: 'spec.source.databases.app.url',
        message: expect.stringContaining('file gone does not exist'),
      }),
    ]);
    // In process, the cwd given to main() is not the process's: the file is named by its full path.
    expect(result.stderr).toMatch(
      /^error: secret references could not be resolved:\n\S*plans\/plan\.yaml:10:19: spec\.source/,
    );
  });
});
