// The checkpoint sink named in the plan (spec.audit.sink) through the real CLI: a run delivers every
// checkpoint to an append-only table on an embedded PostgreSQL server (not a migrated one), whose
// URL is a secret reference; the URL's password appears nowhere in the state directory or output.
// HANDOFF_AUDIT_SINK, when set, takes the plan's place (and says so).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSinkCheckpoints } from '../../src/audit/sink.js';
import { runCli } from '../support/cli.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { listFiles } from '../support/tmp.js';
import { localPlan, type PlanDir } from '../engine/fixtures.js';
import { checkpointsPath, readLinesOf } from './fixtures.js';

let server: TestPostgres;
const fixtures: PlanDir[] = [];
beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('audit_sink');
});
afterAll(async () => {
  for (const fx of fixtures) fx.cleanup();
  await server?.close();
});

const SINK_IN_PLAN = `  audit:
    sink:
      postgres:
        url: { fromEnv: AUDIT_SINK_URL }
`;

function run(fx: PlanDir, extra: Record<string, string>, args: string[] = []) {
  return runCli(['run', '-f', fx.plan, '--state-dir', fx.stateDir, ...args], {
    env: {
      SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app',
      HANDOFF_STATE_DIR: '',
      HANDOFF_AUDIT_SINK: '',
      HANDOFF_KEY_DIR: path.join(fx.dir, 'keys'),
      AUDIT_SINK_URL: server.url('audit_sink'),
      ...extra,
    },
    timeoutMs: 120_000,
  });
}

/** Every form of the password a leak could take in a file or the output. */
function passwordForms(password: string): string[] {
  return [
    password,
    encodeURIComponent(password),
    Buffer.from(password).toString('base64'),
    Buffer.from(password).toString('hex'),
  ];
}

describe('spec.audit.sink in the plan', () => {
  it(
    'delivers every checkpoint of a run to the PostgreSQL table; its password is nowhere in the state directory or output',
    { timeout: 300_000 },
    async () => {
      const fx = localPlan({ name: 'audit-plan-sink', extra: SINK_IN_PLAN });
      fixtures.push(fx);
      const validate = await runCli(['validate', '-f', fx.plan], {
        env: {
          SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app',
          AUDIT_SINK_URL: server.url('audit_sink'),
        },
      });
      expect(validate.code, validate.stdout + validate.stderr).toBe(0);

      const result = await run(fx, {});
      expect(result.code, result.stderr).toBe(0);
      const local = readLinesOf(checkpointsPath(fx.stateDir));
      expect(local.length).toBeGreaterThanOrEqual(3); // trail opened, stage ends, run end
      const trailId = fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail-id'), 'utf8').trim();
      expect(await readSinkCheckpoints(server.url('audit_sink'), trailId)).toEqual(local);

      const verify = await runCli(
        [
          'audit',
          'verify',
          '--state-dir',
          fx.stateDir,
          '--public-key',
          path.join(fx.dir, 'keys', 'signing-key.pub.pem'),
          '--against',
          server.url('audit_sink'),
          '-o',
          'json',
        ],
        { timeoutMs: 60_000 },
      );
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ valid: true, externalCheckpoints: local.length });

      const files = listFiles(fx.stateDir);
      expect(files.length).toBeGreaterThan(3);
      for (const form of passwordForms(server.password)) {
        for (const file of files) expect(fs.readFileSync(file).includes(form), `${form} in ${file}`).toBe(false);
        for (const output of [
          result.stdout,
          result.stderr,
          validate.stdout,
          validate.stderr,
          verify.stdout,
          verify.stderr,
        ]) {
          expect(output.includes(form)).toBe(false);
        }
      }
    },
  );

  it("HANDOFF_AUDIT_SINK takes the place of the plan's sink, and the run says so", { timeout: 300_000 }, async () => {
    const fx = localPlan({ name: 'audit-plan-sink-env', extra: SINK_IN_PLAN });
    fixtures.push(fx);
    // The plan's sink points at a database that does not exist: used, it would fail and be recorded.
    const result = await run(fx, {
      AUDIT_SINK_URL: server.url('no_such_db'),
      HANDOFF_AUDIT_SINK: server.url('audit_sink'),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(
      /HANDOFF_AUDIT_SINK \(postgresql:\/\/[^ ]*:\*\*\*@127\.0\.0\.1:\d+\/audit_sink\) takes the place of the plan's spec\.audit\.sink/,
    );
    const trailId = fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail-id'), 'utf8').trim();
    expect(await readSinkCheckpoints(server.url('audit_sink'), trailId)).toEqual(
      readLinesOf(checkpointsPath(fx.stateDir)),
    );
    expect(fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail.jsonl'), 'utf8')).not.toContain('audit.sink-failed');
    for (const form of passwordForms(server.password))
      expect((result.stdout + result.stderr).includes(form)).toBe(false);
  });

  it(
    "approve and abort of a paused run (no execution) send its checkpoints to the plan's sink too; without the run's variables it warns and still acts",
    { timeout: 300_000 },
    async () => {
      const fx = localPlan({
        name: 'audit-plan-sink-abort',
        approvals: '    - { before: finalize, role: db-owner, timeout: 1s }',
        extra: SINK_IN_PLAN,
      });
      fixtures.push(fx);
      const waited = await run(fx, {}, ['-o', 'json']);
      expect(waited.code, waited.stderr).toBe(1); // paused, waiting for the approval
      const id = String((JSON.parse(waited.stdout) as { run?: unknown }).run ?? '');
      const trailId = fs.readFileSync(path.join(fx.stateDir, 'audit', 'trail-id'), 'utf8').trim();
      const env = {
        SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app',
        HANDOFF_STATE_DIR: '',
        HANDOFF_AUDIT_SINK: '',
        HANDOFF_KEY_DIR: path.join(fx.dir, 'keys'),
      };
      // Without AUDIT_SINK_URL: the approval is recorded, and the command says the sink is not used.
      const paused = await runCli(
        ['approve', id, '--state-dir', fx.stateDir, '--stage', 'finalize', '--as', 'carol', '--role', 'db-owner'],
        { env, timeoutMs: 60_000 },
      );
      expect(paused.code, paused.stderr).toBe(0);
      expect(paused.stdout + paused.stderr).toMatch(
        /the plan's spec\.audit\.sink cannot be used by this command \(.*AUDIT_SINK_URL.*\); its checkpoints are not sent there/,
      );
      const aborted = await runCli(['abort', id, '--state-dir', fx.stateDir, '--as', 'dave'], {
        env: { ...env, AUDIT_SINK_URL: server.url('audit_sink') },
        timeoutMs: 60_000,
      });
      expect(aborted.code, aborted.stderr).toBe(0);
      const local = readLinesOf(checkpointsPath(fx.stateDir));
      const held = await readSinkCheckpoints(server.url('audit_sink'), trailId);
      // The run's checkpoints (sent by the run) and the abort's (sent by the abort); approve makes none.
      expect(held).toEqual(local);
      expect(held.at(-1)).toMatch(/run-finished/);
      expect(held.some((line) => line.includes('run-aborted'))).toBe(true);
      for (const form of passwordForms(server.password))
        expect((paused.stdout + paused.stderr + aborted.stdout + aborted.stderr).includes(form)).toBe(false);
    },
  );

  it('refuses a literal PostgreSQL URL (a password belongs in a reference), naming where, exit 2', async () => {
    const fx = localPlan({
      name: 'audit-plan-sink-literal',
      extra: '  audit:\n    sink:\n      postgres: { url: "postgresql://audit:literal-pw-42@127.0.0.1/audit" }\n',
    });
    fixtures.push(fx);
    const result = await runCli(['validate', '-f', fx.plan], {
      env: { SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app' },
    });
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(/spec\.audit\.sink/);
    expect(result.stdout + result.stderr).not.toContain('literal-pw-42');
  });
});
