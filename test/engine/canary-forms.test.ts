/**
 * The secret canary, searching with forms built apart from the redactor (test/support/leak-forms.ts):
 * random secrets planted in every kind of reference a local plan has (a database password in a URL
 * from the environment, one from a file, the router's admin token from the environment) are leaked
 * by a test step through every channel a step has (debug and info logs, message and fields, an
 * event, its durable state, its error), each time in raw, URL, base64, hex, percent-encoded and
 * JSON forms. Afterwards no file under the state directory (the SQLite store read as bytes, the
 * audit trail, the report) and no byte of the logs or of the read commands' output holds any
 * 8-character piece of any secret in any of the canary's forms.
 *
 * Kubernetes Secret references (`fromSecret`) are covered by test/kubernetes/secret-ref.test.ts.
 *
 * Then once with the redactor bypassed for one channel (the step writes the token's upper-case hex
 * straight to the log stream): the canary must find exactly that.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import type { Stage, StageRegistry } from '../../src/engine/stage.js';
import { startRun } from '../../src/engine/start.js';
import type { StepContext } from '../../src/engine/step.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { findLeaks, placesOf } from '../support/leak-forms.js';
import { listFiles, makeTempDir } from '../support/tmp.js';

/** Letters, digits and the characters that each encoding treats differently. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789/+=%"\\ &?:@#é';

function randomSecret(length = 24): string {
  const chars = [...ALPHABET];
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join('');
}

const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

interface Planted {
  dir: string;
  plan: string;
  stateDir: string;
  env: NodeJS.ProcessEnv;
  secrets: Record<string, string>;
}

function plantSecrets(): Planted {
  const tmp = makeTempDir('handoff-canary-forms-');
  cleanups.push(tmp.cleanup);
  const secrets = {
    'source database password (fromEnv)': randomSecret(),
    'target database password (fromFile)': randomSecret(),
    'router admin token (fromEnv)': randomSecret(),
  };
  const url = (password: string): string => `postgresql://app:${encodeURIComponent(password)}@127.0.0.1:5432/app`;
  fs.writeFileSync(path.join(tmp.dir, 'target.secret'), `${url(secrets['target database password (fromFile)'])}\n`);
  const plan = path.join(tmp.dir, 'plan.yaml');
  fs.writeFileSync(
    plan,
    `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: canary-forms
spec:
  source:
    platform: { kind: local }
    endpoint: http://127.0.0.1:9
    databases:
      app: { url: { fromEnv: CANARY_SOURCE_DB } }
  target:
    platform: { kind: local }
    endpoint: http://127.0.0.1:10
    databases:
      app: { url: { fromFile: target.secret } }
  traffic:
    router: { kind: builtin, listen: "127.0.0.1:0", adminToken: { fromEnv: CANARY_ROUTER_TOKEN } }
`,
  );
  const env = {
    ...process.env,
    HANDOFF_STATE_DIR: '',
    CANARY_SOURCE_DB: url(secrets['source database password (fromEnv)']),
    CANARY_ROUTER_TOKEN: secrets['router admin token (fromEnv)'],
  };
  return { dir: tmp.dir, plan, stateDir: path.join(tmp.dir, 'state'), env, secrets };
}

/** Every form a careless step could print a value in. */
function leakyForms(value: string): string {
  const bytes = Buffer.from(value);
  return [
    value,
    JSON.stringify({ value }),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    Buffer.from(`user:${value}`).toString('base64'),
    Buffer.from(`xy${value}`).toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
  ].join(' | ');
}

/** A preflight step that resolves every secret of the plan and leaks each through every channel it has. */
function leakyRegistry(bypass: ((text: string) => void) | null): StageRegistry {
  return () => [
    {
      name: 'preflight',
      steps: [
        {
          name: 'leaky',
          retry: false,
          async run(ctx: StepContext) {
            const source = ctx.secrets.databaseUrl('source', 'app');
            const target = ctx.secrets.databaseUrl('target', 'app');
            const router = ctx.plan.spec.traffic?.router;
            const token =
              router?.kind === 'builtin' && router.adminToken
                ? ctx.secrets.resolve(router.adminToken, 'spec.traffic.router.adminToken')
                : '';
            const values = [
              source,
              target,
              token,
              decodeURIComponent(new URL(source).password),
              decodeURIComponent(new URL(target).password),
            ];
            const text = values.map(leakyForms).join(' || ');
            ctx.logger.debug(`connecting with ${text}`, { text, values });
            ctx.logger.info('resolved', { values: values.map((v) => ({ [v]: Buffer.from(v).toString('hex') })) });
            ctx.events.emit('approval-webhook', {
              stage: 'preflight',
              role: 'canary',
              url: source,
              delivered: false,
              status: null,
              error: text,
              elapsedMs: 0,
            });
            ctx.state.set('leak', { text, values });
            if (bypass) bypass(`${Buffer.from(token).toString('hex').toUpperCase()}\n`);
            throw new Error(`cannot connect: ${text}`);
          },
        },
      ],
    } satisfies Stage,
  ];
}

async function cli(planted: Planted, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['--log-level', 'debug', ...args, '--state-dir', planted.stateDir], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: planted.env,
    cwd: planted.dir,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** Runs the plan with the leaky step, then the commands that read the run; returns everything they wrote. */
async function runLeaky(planted: Planted, bypass: boolean): Promise<Record<string, string>> {
  let log = '';
  const write = (text: string): void => {
    log += text;
  };
  const redactor = createRedactor();
  const outcome = await startRun(
    {
      stateDir: planted.stateDir,
      env: planted.env,
      cwd: planted.dir,
      redactor,
      logger: createLogger({ format: 'json', level: 'debug', redactor, write }),
      actor: 'tester',
      registry: leakyRegistry(bypass ? write : null),
      pollMs: 50,
    },
    loadPlanFile(planted.plan),
    null,
  );
  expect(outcome.run.state).toBe('rolled-back');
  // The leak paths really ran: each shows the redaction marker where a secret was.
  expect(log).toMatch(/"msg":"connecting with \[REDACTED\]/);
  const status = await cli(planted, ['status', outcome.run.id, '-o', 'json']);
  expect(status.stdout).toContain('[REDACTED]');
  const outputs: Record<string, string[]> = {
    stdout: [JSON.stringify(redactor.redactValue(outcome)), status.stdout],
    stderr: [log, status.stderr],
  };
  for (const args of [['status'], ['audit', 'verify'], ['explain', outcome.run.id], ['report', outcome.run.id]]) {
    const result = await cli(planted, args);
    outputs.stdout?.push(result.stdout);
    outputs.stderr?.push(result.stderr);
  }
  expect(fs.readFileSync(path.join(planted.stateDir, 'audit', 'trail.jsonl'), 'utf8')).toContain('[REDACTED]');
  return { stdout: outputs.stdout?.join('') ?? '', stderr: outputs.stderr?.join('') ?? '' };
}

describe('the secret canary (forms built apart from the redactor)', () => {
  it(
    'finds no piece of any planted secret in any form in the state directory, the logs or the output',
    { timeout: 120_000 },
    async () => {
      const planted = plantSecrets();
      const outputs = await runLeaky(planted, false);
      const places = placesOf([planted.stateDir], outputs, listFiles);
      expect(places.map(([where]) => where)).toEqual(
        expect.arrayContaining([expect.stringMatching(/state\.db$/), expect.stringMatching(/trail\.jsonl$/)]),
      );
      expect(findLeaks(planted.secrets, places)).toEqual([]);
    },
  );

  it(
    'finds the token when one channel bypasses the redactor (its upper-case hex written straight to the log)',
    { timeout: 120_000 },
    async () => {
      const planted = plantSecrets();
      const outputs = await runLeaky(planted, true);
      const leaks = findLeaks(planted.secrets, placesOf([planted.stateDir], outputs, listFiles));
      // Labelled `hex` when the piece found is all digits: many of the alphabet's bytes are (`A` is
      // 41, `%` is 25), and such a piece is the same in both cases; the finder names the first form.
      expect(leaks.map(({ secret, where, encoding }) => ({ secret, where, encoding }))).toEqual([
        { secret: 'router admin token (fromEnv)', where: 'stderr', encoding: expect.stringMatching(/^(HEX|hex)$/) },
      ]);
    },
  );
});
