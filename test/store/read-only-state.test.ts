/**
 * A state directory this process cannot write (an auditor's copy, a read-only mount): the commands
 * that only read it (status, explain, report to another place, audit verify, run --dry-run) work,
 * through a private snapshot of the store, and leave the directory exactly as it was. SQLite alone
 * cannot open such a store, even read-only: it cannot create the -shm file beside it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { openStore } from '../../src/store/store.js';
import { localPlan, type PlanDir } from '../engine/fixtures.js';
import { runCliInProcess, type CliResult } from '../support/cli.js';
import { makeReadOnly } from '../support/read-only.js';
import { listFiles } from '../support/tmp.js';

const env = { SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app', HANDOFF_STATE_DIR: '' };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function fixture(): PlanDir {
  const fx = localPlan({ name: 'read-only-state' });
  cleanups.push(fx.cleanup);
  return fx;
}

/** Locks `dir` read-only until the end of the test (unlocked before the fixture is removed). */
function lock(dir: string): void {
  cleanups.unshift(makeReadOnly(dir));
}

function cli(fx: PlanDir, args: string[]): Promise<CliResult> {
  return runCliInProcess([...args, '--state-dir', fx.stateDir], { cwd: fx.dir, env });
}

/** A store with one run in the fixture's state directory, closed. */
function storeWithRun(fx: PlanDir): void {
  const store = openStore({ stateDir: fx.stateDir, create: true, redactor: createRedactor() });
  if (!store) throw new Error('no store');
  store.runs.create({ id: 'run-1', planName: 'p', planHash: 'h', planFile: '/p.yaml', planText: 'x', until: null });
  store.close();
}

/** Every file below `dir` with a hash of its bytes and its mode. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of listFiles(dir)) {
    const stat = fs.statSync(file);
    out[path.relative(dir, file)] =
      `${(stat.mode & 0o777).toString(8)} ${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;
  }
  return out;
}

function snapshotsLeft(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('handoff-state-'));
}

describe('a state directory this process cannot write', () => {
  it('is read by status, explain, report and audit verify through a snapshot, and left untouched', async () => {
    const fx = fixture();
    const run = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const listed = await cli(fx, ['status', '-o', 'json']);
    const runs = (JSON.parse(listed.stdout) as { runs: Array<{ id: string }> }).runs;
    expect(runs.length).toBe(1);
    const runId = (runs[0] as { id: string }).id;
    const before = fingerprint(fx.stateDir);
    expect(Object.keys(before)).toContain('state.db');
    const leftBefore = snapshotsLeft();
    lock(fx.stateDir);

    // Opened to write, it is refused before SQLite touches it (SQLite alone could not open it at all).
    expect(() => openStore({ stateDir: fx.stateDir, create: false, redactor: createRedactor() })).toThrow(
      /cannot be written by this process/,
    );

    const list = await cli(fx, ['status', '-o', 'json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(JSON.parse(listed.stdout));
    const status = await cli(fx, ['status', runId, '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: runId, state: 'succeeded' });
    const explain = await cli(fx, ['explain', runId]);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toContain(runId);
    const out = path.join(fx.dir, 'report.md');
    const report = await cli(fx, ['report', runId, '--format', 'md', '--out', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain(runId);
    // The default place is inside the directory: refused with the way out, not a stack trace.
    const inPlace = await cli(fx, ['report', runId]);
    expect(inPlace.code).toBe(2);
    expect(inPlace.stderr).toMatch(/cannot write the report to .*choose another --out/);
    const verify = await cli(fx, ['audit', 'verify', '-o', 'json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ valid: true });
    const dry = await cli(fx, ['run', '-f', fx.plan, '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);

    expect(fingerprint(fx.stateDir)).toEqual(before);
    expect(snapshotsLeft()).toEqual(leftBefore);
  });

  it('is served by the dashboard (runs, a run, its page, view, events and metrics), and left untouched', async () => {
    const fx = fixture();
    const run = await cli(fx, ['run', '-f', fx.plan, '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const runId = (JSON.parse(run.stdout) as { run: string }).run;
    const before = fingerprint(fx.stateDir);
    const leftBefore = snapshotsLeft();
    lock(fx.stateDir);

    const dashboard = await startDashboard({
      stateDir: fx.stateDir,
      listen: { host: '127.0.0.1', port: 0 },
      token: null,
      redactor: createRedactor(),
      logger: createSilentLogger(),
    });
    try {
      const list = await fetch(`${dashboard.url}/api/runs`);
      expect(list.status).toBe(200);
      expect(((await list.json()) as Array<{ id: string }>).map((r) => r.id)).toEqual([runId]);
      const status = await fetch(`${dashboard.url}/api/runs/${runId}`);
      expect(status.status).toBe(200);
      expect(await status.json()).toMatchObject({ id: runId, state: 'succeeded' });
      for (const url of [`/runs/${runId}`, `/api/runs/${runId}/view`, '/metrics', '/']) {
        const answer = await fetch(`${dashboard.url}${url}`);
        expect(answer.status, url).toBe(200);
        expect(await answer.text(), url).toContain(runId);
      }
      // The event stream: the history, read from the trail, then closed by us.
      const controller = new AbortController();
      const events = await fetch(`${dashboard.url}/api/runs/${runId}/events`, { signal: controller.signal });
      expect(events.status).toBe(200);
      const reader = (events.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('data:');
      controller.abort();
      await reader.cancel().catch(() => undefined);
    } finally {
      await dashboard.close();
    }

    expect(fingerprint(fx.stateDir)).toEqual(before);
    expect(snapshotsLeft()).toEqual(leftBefore);
  });

  it('refuses the commands that write with exit 2 and a message that says so, changing nothing', async () => {
    const fx = fixture();
    const run = await cli(fx, ['run', '-f', fx.plan, '--until', 'provision', '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const runId = (JSON.parse(run.stdout) as { run: string }).run;
    expect(runId).toEqual(expect.any(String));
    const before = fingerprint(fx.stateDir);
    lock(fx.stateDir);
    for (const args of [
      ['approve', runId, '--stage', 'shift', '--as', 'ann', '--role', 'sre'],
      ['pause', runId],
      ['abort', runId],
      ['resume', runId],
      ['run', '-f', fx.plan],
    ]) {
      const refused = await cli(fx, args);
      expect(refused.code, `${args[0]}: ${refused.stderr}`).toBe(2);
      expect(refused.stderr, args[0]).toMatch(
        /state store .*cannot be written by this process.*run it where the state directory is writable/,
      );
      expect(refused.stderr, args[0]).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(fingerprint(fx.stateDir)).toEqual(before);
  });

  it('refuses to create a state directory where it cannot, with exit 2', async () => {
    const fx = fixture();
    const parent = path.join(fx.dir, 'locked');
    fs.mkdirSync(parent);
    lock(parent);
    const refused = await runCliInProcess(['run', '-f', fx.plan, '--state-dir', path.join(parent, 'state')], {
      cwd: fx.dir,
      env,
    });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/cannot create the state store .*choose a state directory this process can write/);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('refuses every write to the snapshot, and removes it on close', () => {
    const fx = fixture();
    const redactor = createRedactor();
    storeWithRun(fx);
    const leftBefore = snapshotsLeft();
    lock(fx.stateDir);

    const reader = openStore({ stateDir: fx.stateDir, create: false, readOnly: true, redactor });
    if (!reader) throw new Error('no store');
    expect(reader.runs.get('run-1')?.planName).toBe('p');
    expect(snapshotsLeft().length).toBe(leftBefore.length + 1);
    expect(() => reader.runs.update('run-1', { state: 'failed' })).toThrow(/readonly|read-only|query_only/i);
    reader.close();
    expect(snapshotsLeft()).toEqual(leftBefore);
  });

  it('reads the commits still in the -wal file (a copy taken while the store was open)', () => {
    const fx = fixture();
    const redactor = createRedactor();
    storeWithRun(fx);
    // A writer that never checkpoints: its commit stays in state.db-wal, and the copy is taken then.
    const db = new Database(path.join(fx.stateDir, 'state.db'));
    db.pragma('wal_autocheckpoint = 0');
    db.prepare("update runs set plan_name = 'in the wal' where id = 'run-1'").run();
    const copy = path.join(fx.dir, 'copy');
    fs.mkdirSync(copy);
    for (const name of ['state.db', 'state.db-wal'])
      fs.copyFileSync(path.join(fx.stateDir, name), path.join(copy, name));
    db.close();
    expect(fs.statSync(path.join(copy, 'state.db-wal')).size).toBeGreaterThan(0);
    lock(copy);

    const reader = openStore({ stateDir: copy, create: false, readOnly: true, redactor });
    if (!reader) throw new Error('no store');
    expect(reader.runs.get('run-1')?.planName).toBe('in the wal');
    reader.close();
  });
});
