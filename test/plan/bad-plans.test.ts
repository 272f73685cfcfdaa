/**
 * The issue's list of bad plans, each through the real CLI: exit 2, a message with the right
 * file:line:column and path, no stack trace, nothing on stdout, and no state directory created.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/plans');
const design = fs.readFileSync(path.join(fixtures, 'design-example.yaml'), 'utf8');
const minimal = fs.readFileSync(path.join(fixtures, 'minimal-local.yaml'), 'utf8');
const ENV = {
  SOURCE_ORDERS_DB: 'postgresql://app@127.0.0.1:5432/orders',
  TARGET_ORDERS_DB: 'postgresql://app@127.0.0.1:5433/orders',
};
const CANARY = 'Canary-Pw-5f1c9e';

/** 1-based line and column of the first occurrence of `needle` (after `after`, when given). */
function at(text: string | Buffer, needle: string, after = ''): { line: number; column: number } {
  const source = typeof text === 'string' ? text : text.toString('latin1');
  const offset = source.indexOf(needle, after === '' ? 0 : source.indexOf(after));
  if (offset < 0) throw new Error(`fixture error: "${needle}" not found`);
  const before = source.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`fixture error: "${from}" not found`);
  return text.replace(from, to);
}

function aliasBomb(): string {
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let previous = 'a';
  for (const name of 'bcdefghi') {
    text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    previous = name;
  }
  return text;
}

interface BadPlan {
  name: string;
  content: string | Buffer;
  /** Where the first message must point. */
  where: { line: number; column: number };
  path?: string;
  message: RegExp;
  env?: Record<string, string>;
  /** Text that must not appear anywhere in the output. */
  secret?: string;
}

const withTab = replaced(minimal, '  name: minimal-local', '\tname: minimal-local');
const unknownField = replaced(
  minimal,
  '  data:',
  '  workloads:\n    processes:\n      - { name: app, command: node, rplicas: 2 }\n  data:',
);
const wrongType = replaced(design, 'minSamples: 200', 'minSamples: lots');
const missing = replaced(
  design,
  '{ kind: kubernetes, context: gke-prod, namespace: orders }',
  '{ kind: kubernetes, namespace: orders }',
);
const badDuration = replaced(design, 'bake: 30s', 'bake: 30 seconds');
const copySwitch = replaced(
  minimal,
  '      tables: ["public.*"]',
  '      tables: ["public.*"]\n      copy: { deferIndexes: "yes" }',
);
const numericCode = replaced(
  minimal,
  '  rollback: { automatic: true }',
  '  retry: { nonRetryable: [40001] }\n  rollback: { automatic: true }',
);
const weights = replaced(design, '[1, 5, 25, 50, 100]', '[1, 25, 5, 100]');
const password = replaced(
  design,
  '{ url: { fromEnv: SOURCE_ORDERS_DB } }',
  `{ url: "postgresql://app:${CANARY}@db.internal/orders" }`,
);
const duplicate = replaced(design, '    interval: 5s\n', '    interval: 5s\n    minSamples: 10\n');
const unknownDatabase = replaced(design, '- database: orders', '- database: ordres');
const unknownKind = replaced(design, 'kind: kubernetes, context: gke-prod', 'kind: kubernets, context: gke-prod');
const unknownMetric = replaced(design, 'metric: router.error_rate', 'metric: router.eror_rate');
// "café" saved as Latin-1: the byte 0xe9 alone is not UTF-8.
const nonUtf8 = Buffer.concat([Buffer.from(`${minimal}# caf`), Buffer.from([0xe9]), Buffer.from(' au lait\n')]);
const binary = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]),
  Buffer.alloc(64, 7),
]);

const cases: BadPlan[] = [
  {
    name: 'syntax error (tab indentation)',
    content: withTab,
    where: at(withTab, '\tname'),
    message: /Tabs are not allowed as indentation/,
  },
  {
    name: 'unknown field, with the nearest known one',
    content: unknownField,
    where: at(unknownField, 'rplicas'),
    path: 'spec.workloads.processes[0].rplicas',
    message: /unknown field "rplicas"; did you mean "replicas"\?/,
  },
  {
    name: 'wrong type',
    content: wrongType,
    where: at(wrongType, 'lots'),
    path: 'spec.analysis.minSamples',
    message: /expected a number, got the string "lots"/,
  },
  {
    name: 'missing required field',
    content: missing,
    where: at(missing, 'platform', 'target:'),
    path: 'spec.target.platform.context',
    message: /required field "context" is missing/,
  },
  {
    name: 'bad duration',
    content: badDuration,
    where: at(badDuration, '30 seconds'),
    path: 'spec.traffic.reads.bake',
    message: /not a duration/,
  },
  {
    name: 'a copy switch that is not a boolean',
    content: copySwitch,
    where: at(copySwitch, '"yes"'),
    path: 'spec.data[0].copy.deferIndexes',
    message: /expected true or false, got the string "yes"/,
  },
  {
    name: 'an error code written as a YAML number',
    content: numericCode,
    where: at(numericCode, '40001'),
    path: 'spec.retry.nonRetryable[0]',
    message: /an error code is a string: quote it \("40001"\)/,
  },
  {
    name: 'weights not ascending',
    content: weights,
    where: at(weights, '5, 100'),
    path: 'spec.traffic.reads.steps[2]',
    message: /read weights must be ascending: 5 comes after 25/,
  },
  {
    name: 'literal password',
    content: password,
    where: at(password, '"postgresql://app:'),
    path: 'spec.source.databases.orders.url',
    message: /literal password.*fromEnv: SOURCE_ORDERS_DB.*fromFile/,
    secret: CANARY,
  },
  { name: 'alias bomb', content: aliasBomb(), where: at(aliasBomb(), '*a'), message: /alias bomb/ },
  {
    name: '20 MB file',
    content: Buffer.alloc(20 * 1024 * 1024, 'key: value\n'),
    where: { line: 1, column: 1 },
    message: /the file is 20971520 bytes; plan files are limited to 1048576 bytes/,
  },
  {
    name: 'duplicate key',
    content: duplicate,
    where: at(duplicate, 'minSamples: 200'),
    path: 'spec.analysis.minSamples',
    message: new RegExp(
      `duplicate key "minSamples" \\(first at line ${at(duplicate, 'minSamples: 10').line}, column 5\\)`,
    ),
  },
  // The PNG signature holds two line feeds before its first NUL byte.
  {
    name: 'binary file',
    content: binary,
    where: { line: 3, column: 1 },
    message: /binary file.*NUL byte at byte offset 8/,
  },
  { name: 'empty file', content: '', where: { line: 1, column: 1 }, message: /the plan file is empty/ },
  {
    name: 'unknown database reference',
    content: unknownDatabase,
    where: at(unknownDatabase, 'ordres'),
    path: 'spec.data[0].database',
    message: /database "ordres" is not defined on the source site; did you mean "orders"\?/,
  },
  {
    name: 'unknown platform kind',
    content: unknownKind,
    where: at(unknownKind, 'kubernets'),
    path: 'spec.target.platform.kind',
    message: /unknown kind "kubernets"; known kinds: kubernetes, local; did you mean "kubernetes"\?/,
  },
  {
    name: 'unknown metric',
    content: unknownMetric,
    where: at(unknownMetric, 'router.eror_rate'),
    path: 'spec.analysis.checks[0].metric',
    message:
      /unknown metric "router.eror_rate"; known metrics: router.error_rate, .*did you mean "router.error_rate"\?/,
  },
  {
    name: 'non-UTF-8 text',
    content: nonUtf8,
    where: { line: minimal.split('\n').length, column: 6 },
    message: /not valid UTF-8 \(byte 0xe9/,
  },
  {
    name: 'several documents',
    content: `${minimal}---\napiVersion: handoff.dev/v1alpha1\n`,
    where: at(`${minimal}---\n`, '---\n'),
    message: /holds 2 YAML documents; a plan file holds exactly one/,
  },
  {
    name: 'a document that is not a mapping',
    content: '- apiVersion\n- kind\n',
    where: { line: 1, column: 1 },
    message: /the document is a list/,
  },
  {
    name: 'missing environment variable',
    content: design,
    env: { SOURCE_ORDERS_DB: ENV.SOURCE_ORDERS_DB, TARGET_ORDERS_DB: '' },
    where: at(design, '{ fromEnv: TARGET_ORDERS_DB }'),
    path: 'spec.target.databases.orders.url',
    message: /environment variable TARGET_ORDERS_DB is empty/,
  },
];

describe('handoff validate refuses bad plans', () => {
  let dir = '';
  let cleanup = (): void => {};
  beforeAll(() => {
    ({ dir, cleanup } = makeTempDir());
  });
  afterAll(() => cleanup());

  it('has at least the 15 kinds of wrong input the issue lists, and more', () => {
    expect(cases.length).toBeGreaterThanOrEqual(18);
  });

  describe.concurrent.each(cases.map((c, index) => ({ ...c, index })))('$name', (bad) => {
    // Spawning tsx takes seconds, and far more on a loaded two-core machine.
    it('exits 2 with file:line:column, path and message, no stack trace, no state', { timeout: 200_000 }, async () => {
      const file = path.join(dir, `bad-${bad.index}.yaml`);
      fs.writeFileSync(file, bad.content);
      const stateDir = path.join(dir, `state-${bad.index}`);
      const result = await runCli(['validate', '-f', file, '--state-dir', stateDir], {
        env: { ...ENV, HANDOFF_STATE_DIR: path.join(dir, `env-state-${bad.index}`), ...bad.env },
        timeoutMs: 150_000,
      });
      expect(result.stdout).toBe('');
      expect(result.code, result.stderr).toBe(2);
      const prefix = `${file}:${bad.where.line}:${bad.where.column}: ${bad.path ? `${bad.path}: ` : ''}`;
      const line = result.stderr
        .split('\n')
        .find((text) => text.startsWith(prefix) || text.startsWith(`error: ${prefix}`));
      expect(line, result.stderr).toBeDefined();
      expect(line).toMatch(bad.message);
      expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
      expect(result.stderr).not.toMatch(/internal error/);
      if (bad.secret) expect(result.stderr + result.stdout).not.toContain(bad.secret);
      expect(fs.existsSync(stateDir)).toBe(false);
      expect(fs.existsSync(path.join(dir, `env-state-${bad.index}`))).toBe(false);
    });
  });
});
