/**
 * `handoff validate` and `handoff schema` through the real CLI: the DESIGN.md example validates
 * unchanged, JSON output is one document, secret values never appear, and validate never creates
 * the state directory.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { STAGE_NAMES } from '../../src/plan/schema.js';
import { planJsonSchema } from '../../src/plan/json-schema.js';
import { runCli } from '../support/cli.js';
import { listFiles, makeTempDir } from '../support/tmp.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/plans');
const designFile = path.join(fixtures, 'design-example.yaml');
const CANARY = 'Pw-Canary-81f0d2';
/** Spawning tsx takes seconds, and far more on a loaded two-core machine. */
const CLI_TIMEOUT = 150_000;
const TEST_TIMEOUT = 200_000;
const ENV = {
  SOURCE_ORDERS_DB: `postgresql://app:${CANARY}@127.0.0.1:5432/orders`,
  TARGET_ORDERS_DB: `postgresql://app:${encodeURIComponent(`${CANARY}/x`)}@127.0.0.1:5433/orders`,
};

const validJson = z.strictObject({
  valid: z.literal(true),
  plan: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  stages: z.array(z.enum(STAGE_NAMES)),
  file: z.string(),
  secretsResolved: z.boolean(),
  secrets: z.strictObject({ references: z.number(), resolved: z.number(), kubernetes: z.number() }),
});
const invalidJson = z.strictObject({
  valid: z.literal(false),
  errors: z
    .array(
      z.strictObject({ file: z.string(), line: z.number(), column: z.number(), path: z.string(), message: z.string() }),
    )
    .min(1),
});

function noSecret(...texts: string[]): void {
  for (const text of texts) {
    for (const form of [CANARY, Buffer.from(CANARY).toString('base64'), encodeURIComponent(`${CANARY}/x`)]) {
      expect(text).not.toContain(form);
    }
  }
}

describe.concurrent('handoff validate', { timeout: TEST_TIMEOUT }, () => {
  let dir = '';
  let cleanup = (): void => {};
  let stateEnv: Record<string, string> = {};
  beforeAll(() => {
    ({ dir, cleanup } = makeTempDir());
    stateEnv = { HANDOFF_STATE_DIR: path.join(dir, 'state') };
  });
  afterAll(() => {
    // No command in this file may have created a state directory.
    expect(fs.existsSync(path.join(dir, 'state'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'flag-state'))).toBe(false);
    cleanup();
  });

  it('accepts the DESIGN.md example unchanged, with its variables set (-o json)', async () => {
    const result = await runCli(
      ['validate', '-f', designFile, '-o', 'json', '--state-dir', path.join(dir, 'flag-state')],
      {
        env: { ...ENV, ...stateEnv },
        timeoutMs: CLI_TIMEOUT,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const json = validJson.parse(JSON.parse(result.stdout));
    expect(json.plan).toBe('orders-to-gke');
    expect(json.hash).toBe(createHash('sha256').update(fs.readFileSync(designFile)).digest('hex'));
    expect(json.stages).toEqual([...STAGE_NAMES]);
    expect(json.secretsResolved).toBe(true);
    noSecret(result.stdout, result.stderr);
  });

  it('prints a one-line summary in text mode', async () => {
    const result = await runCli(['validate', '-f', designFile], {
      env: { ...ENV, ...stateEnv },
      timeoutMs: CLI_TIMEOUT,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(
      /valid plan "orders-to-gke" \(sha256 [0-9a-f]{12}\); stages preflight, .*finalize; 2 secret references: 2 resolved from the environment or files\n$/,
    );
    noSecret(result.stdout, result.stderr);
  });

  it('--no-resolve skips secret references, so unset variables pass', async () => {
    const result = await runCli(['validate', '-f', designFile, '--no-resolve', '-o', 'json'], {
      env: { SOURCE_ORDERS_DB: '', TARGET_ORDERS_DB: '', ...stateEnv },
      timeoutMs: CLI_TIMEOUT,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(validJson.parse(JSON.parse(result.stdout)).secretsResolved).toBe(false);
  });

  it('lists every problem as one JSON document on stdout and exits 2', async () => {
    const file = path.join(dir, 'two-problems.yaml');
    const text = fs
      .readFileSync(designFile, 'utf8')
      .replace('bake: 30s', 'bake: 30 secs')
      .replace('minSamples: 200', 'minSampels: 200');
    fs.writeFileSync(file, text);
    const result = await runCli(['validate', '-f', file, '-o', 'json'], {
      env: { ...ENV, ...stateEnv },
      timeoutMs: CLI_TIMEOUT,
    });
    expect(result.code).toBe(2);
    const json = invalidJson.parse(JSON.parse(result.stdout));
    expect(json.errors.map((error) => [error.path, error.line])).toEqual([
      ['spec.traffic.reads.bake', 28],
      ['spec.analysis.minSampels', 33],
    ]);
    expect(json.errors[1]?.message).toBe('unknown field "minSampels"; did you mean "minSamples"?');
    expect(result.stderr).toContain(`${file}:33:5: spec.analysis.minSampels: unknown field`);
  });

  it('reports a variable that holds no PostgreSQL URL without printing its value', async () => {
    const result = await runCli(['validate', '-f', designFile, '-o', 'json'], {
      env: { ...ENV, TARGET_ORDERS_DB: `host=db password=${CANARY}`, ...stateEnv },
      timeoutMs: CLI_TIMEOUT,
    });
    expect(result.code).toBe(2);
    const json = invalidJson.parse(JSON.parse(result.stdout));
    expect(json.errors).toHaveLength(1);
    expect(json.errors[0]).toMatchObject({ line: 15, column: 22, path: 'spec.target.databases.orders.url' });
    expect(json.errors[0]?.message).toMatch(/environment variable TARGET_ORDERS_DB does not hold a PostgreSQL URL/);
    noSecret(result.stdout, result.stderr);
  });

  it('refuses a missing -f, a missing file and a directory as usage errors (exit 2)', async () => {
    const [missingFlag, missingFile, directory] = await Promise.all([
      runCli(['validate'], { env: stateEnv, timeoutMs: CLI_TIMEOUT }),
      runCli(['validate', '-f', path.join(dir, 'nope.yaml')], { env: stateEnv, timeoutMs: CLI_TIMEOUT }),
      runCli(['validate', '-f', dir], { env: stateEnv, timeoutMs: CLI_TIMEOUT }),
    ]);
    expect(missingFlag.code).toBe(2);
    expect(missingFlag.stderr).toMatch(/required option '-f, --file <plan>'/);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/nope\.yaml: no such file/);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toMatch(/is a directory/);
    for (const result of [missingFlag, missingFile, directory]) {
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(listFiles(dir).filter((file) => file.includes('state'))).toEqual([]);
  });
});

describe('handoff schema', { timeout: TEST_TIMEOUT }, () => {
  it('prints the JSON Schema of plan files on stdout, and nothing else', async () => {
    const result = await runCli(['schema'], { timeoutMs: CLI_TIMEOUT });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const printed: unknown = JSON.parse(result.stdout);
    expect(printed).toEqual(JSON.parse(JSON.stringify(planJsonSchema())));
    expect(printed).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
    });
  });
});
